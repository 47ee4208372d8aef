#include "sim/hopfield/hopfield_network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>

namespace aeqlab::sim {

template <typename T>
HopfieldNetwork<T>::HopfieldNetwork(const HopfieldSpec& spec) : spec_(spec) {
  spec_.validate();
  // The simulator's one knob on parallelism: relaxations split the replicas, and the products
  // with the clamped inputs split their outputs, across this many threads.
  team_ = std::make_unique<RowTeam>(spec_.threads);
  const std::size_t edges = spec_.edges();
  std::mt19937_64 rng(spec_.seed);
  weights_.resize(edges);
  for (std::size_t k = 0; k < edges; ++k) {
    const auto pre = spec_.layers[k], post = spec_.layers[k + 1];
    // Half Xavier-uniform, as in the authors' code: the network starts near its linear regime.
    const double scale = spec_.gains[k] * 0.5 * std::sqrt(6.0 / double(pre + post));
    std::uniform_real_distribution<double> uni(-scale, scale);
    weights_[k].resize(pre, post);
    for (Eigen::Index i = 0; i < weights_[k].size(); ++i) weights_[k].data()[i] = T(uni(rng));
  }
  biases_.resize(edges);
  for (std::size_t l = 1; l <= edges; ++l) biases_[l - 1] = Row::Zero(spec_.layers[l]);
  weight_knobs_.resize(edges);
  for (std::size_t k = 1; k < edges; ++k) weight_knobs_[k] = weights_[k];
  bias_knobs_ = biases_;
  input_knob_.value = weights_[0];
  // No equilibrium yet, but the shapes a snapshot checks: S0 and S1 of zero replicas.
  input_knob_.pre.resize(0, Eigen::Index(spec_.layers[0]));
  input_knob_.post.resize(0, Eigen::Index(spec_.layers[1]));
  weight_eps_ = spec_.weight_compliance;
  bias_eps_ = spec_.bias_compliance;
  states_.resize(spec_.layers.size());
  batch_ = spec_.replicas;
  reset_states();
  targets_ = Matrix::Zero(batch_, spec_.layers.back());
}

template <typename T>
void HopfieldNetwork<T>::reset_states() {
  for (std::size_t l = 0; l < states_.size(); ++l)
    states_[l] = Matrix::Zero(batch_, spec_.layers[l]);
  input_drive_valid_ = gram_valid_ = false;
  index_inputs();
}

template <typename T>
void HopfieldNetwork<T>::set_inputs(const T* values, std::size_t replicas) {
  if (replicas == 0 || replicas > spec_.replicas)
    throw std::invalid_argument("active replicas out of range");
  if (replicas != batch_) {
    batch_ = replicas;
    for (std::size_t l = 1; l < states_.size(); ++l) {
      Matrix kept = states_[l].topRows(std::min<Eigen::Index>(states_[l].rows(), batch_));
      states_[l] = Matrix::Zero(batch_, spec_.layers[l]);
      states_[l].topRows(kept.rows()) = kept;
    }
    targets_ = Matrix::Zero(batch_, spec_.layers.back());
  }
  states_[0] = Eigen::Map<const Matrix>(values, batch_, spec_.layers[0]);
  input_drive_valid_ = gram_valid_ = false;
  index_inputs();
}

template <typename T>
void HopfieldNetwork<T>::index_inputs() {
  // Inputs at zero drive nothing. Images are mostly background, so the products with the
  // clamped input layer go through its nonzeros when they are few (a quarter of MNIST pixels).
  const Matrix& x = states_[0];
  const std::size_t n0 = spec_.layers[0];
  auto& sp = input_nonzeros_;
  sp.col_start.resize(n0 + 1);
  sp.col_row.resize(batch_ * n0 + 1);  // one spare slot: every entry is written, kept if nonzero
  sp.col_value.resize(batch_ * n0 + 1);
  // Column by column, branch-free: about a quarter of MNIST pixels are nonzero, a branch on each
  // would be mispredicted often.
  std::uint32_t k = 0;
  for (std::size_t p = 0; p < n0; ++p) {
    sp.col_start[p] = k;
    for (std::size_t b = 0; b < batch_; ++b) {
      const T v = x(Eigen::Index(b), Eigen::Index(p));
      sp.col_row[k] = std::uint32_t(b);
      sp.col_value[k] = v;
      k += v != T(0);
    }
  }
  sp.col_start[n0] = k;
  sp.sparse = spec_.sparse_inputs && std::size_t(k) * 3 < batch_ * n0;
}

template <typename T>
void HopfieldNetwork<T>::input_product(const Matrix& m, Matrix& out) const {
  const auto& sp = input_nonzeros_;
  if (!sp.sparse) {
    out.noalias() = states_[0] * m;
    return;
  }
  // Input unit by input unit, so each row of m (an input's outgoing weights) is read once and
  // added into the replicas that see that input; in column blocks that keep `out` in cache.
  // Plain loops: at a few hundred columns, a library call per nonzero costs more than its work.
  out.setZero(Eigen::Index(batch_), m.cols());
  constexpr std::size_t kBlock = 512;
  const std::size_t cols = std::size_t(m.cols());
  team_->run([&](std::size_t member) {  // each member fills its own columns
    const auto [begin, end] = RowTeam::share(cols, team_->size(), member);
    for (std::size_t c0 = begin; c0 < end; c0 += kBlock) {
      const std::size_t w = std::min(kBlock, end - c0);
      for (std::size_t p = 0; p + 1 < sp.col_start.size(); ++p) {
        const T* weights = m.data() + p * cols + c0;
        for (std::uint32_t k = sp.col_start[p]; k < sp.col_start[p + 1]; ++k) {
          T* o = out.data() + std::size_t(sp.col_row[k]) * cols + c0;
          const T v = sp.col_value[k];
#pragma omp simd
          for (std::size_t j = 0; j < w; ++j) o[j] += v * weights[j];
        }
      }
    }
  });
}

template <typename T>
void HopfieldNetwork<T>::input_rank_update(Matrix& m, const Matrix& d, T scale) const {
  const auto& sp = input_nonzeros_;
  if (!sp.sparse) {
    m.noalias() += scale * (states_[0].transpose() * d);
    return;
  }
  const std::size_t cols = std::size_t(m.cols());
  team_->run([&](std::size_t member) {  // each member updates its own rows of m
    const std::size_t inputs = sp.col_start.size() - 1;
    const auto [begin, end] = RowTeam::share(inputs, team_->size(), member);
    std::vector<T> acc(cols);
    for (std::size_t p = begin; p < end; ++p) {
      const std::uint32_t from = sp.col_start[p], to = sp.col_start[p + 1];
      if (from == to) continue;  // an input that was zero for every replica moves nothing
      std::fill(acc.begin(), acc.end(), T(0));
      for (std::uint32_t k = from; k < to; ++k) {
        const T* row = d.data() + std::size_t(sp.col_row[k]) * cols;
        const T v = sp.col_value[k];
#pragma omp simd
        for (std::size_t j = 0; j < cols; ++j) acc[j] += v * row[j];
      }
      T* target = m.data() + p * cols;
#pragma omp simd
      for (std::size_t j = 0; j < cols; ++j) target[j] += scale * acc[j];
    }
  });
}

template <typename T>
void HopfieldNetwork<T>::set_nudge(T beta, const T* targets) {
  beta_ = beta;
  targets_ = Eigen::Map<const Matrix>(targets, batch_, spec_.layers.back());
}

template <typename T>
void HopfieldNetwork<T>::ensure_input_drive() {
  if (input_drive_valid_) return;
  input_product(weights_[0], input_drive_);
  input_drive_valid_ = true;
}

template <typename T>
void HopfieldNetwork<T>::ensure_gram() {
  if (gram_valid_) return;
  gram_.noalias() = states_[0] * states_[0].transpose();
  gram_ /= T(batch_);
  gram_valid_ = true;
}

template <typename T>
std::size_t HopfieldNetwork<T>::group_size(std::size_t g) const {
  const std::size_t e = spec_.edges();
  return g < e ? spec_.layers[g] * spec_.layers[g + 1] : spec_.layers[g - e + 1];
}

template <typename T>
double HopfieldNetwork<T>::compliance(std::size_t g) const {
  const std::size_t e = spec_.edges();
  return g < e ? weight_eps_[g] : bias_eps_[g - e];
}

template <typename T>
void HopfieldNetwork<T>::set_compliance(std::size_t g, double eps) {
  const std::size_t e = spec_.edges();
  (g < e ? weight_eps_[g] : bias_eps_[g - e]) = eps;
}

template <typename T>
void HopfieldNetwork<T>::read_parameters(std::size_t g, T* out) const {
  const std::size_t e = spec_.edges();
  const T* src = g < e ? weights_[g].data() : biases_[g - e].data();
  std::copy(src, src + group_size(g), out);
}

template <typename T>
void HopfieldNetwork<T>::materialize_input_knob() {
  if (input_knob_.explicit_value) return;
  input_knob_.value = weights_[0];
  input_knob_.value.noalias() -= (T(input_knob_.coef) / T(input_knob_.pre.rows())) *
                                 (input_knob_.pre.transpose() * input_knob_.post);
  input_knob_.explicit_value = true;
}

template <typename T>
void HopfieldNetwork<T>::write_parameters(std::size_t g, const T* values) {
  const std::size_t e = spec_.edges();
  if (g == 0) materialize_input_knob();  // its implicit form is relative to theta_0
  T* dst = g < e ? weights_[g].data() : biases_[g - e].data();
  std::copy(values, values + group_size(g), dst);
  if (g == 0) input_drive_valid_ = false;
}

template <typename T>
void HopfieldNetwork<T>::read_knobs(std::size_t g, T* out) {
  const std::size_t e = spec_.edges();
  if (g == 0) {
    materialize_input_knob();
    std::copy(input_knob_.value.data(), input_knob_.value.data() + group_size(0), out);
    return;
  }
  const T* src = g < e ? weight_knobs_[g].data() : bias_knobs_[g - e].data();
  std::copy(src, src + group_size(g), out);
}

template <typename T>
void HopfieldNetwork<T>::write_knobs(std::size_t g, const T* values) {
  const std::size_t e = spec_.edges();
  if (g == 0) {
    input_knob_.explicit_value = true;
    input_knob_.value = Eigen::Map<const Matrix>(values, spec_.layers[0], spec_.layers[1]);
    return;
  }
  T* dst = g < e ? weight_knobs_[g].data() : bias_knobs_[g - e].data();
  std::copy(values, values + group_size(g), dst);
}

template <typename T>
double HopfieldNetwork<T>::cost() const {
  return 0.5 * double((states_.back() - targets_).squaredNorm()) / double(batch_);
}

template <typename T>
void HopfieldNetwork<T>::set_knobs_consistent() {
  // (u - theta)/eps = dE/dtheta, with dE/dW_k = -mean(s_k s_{k+1}^T) and dE/db_l = -mean(s_l).
  const T inv_b = T(1) / T(batch_);
  for (std::size_t k = 1; k < spec_.edges(); ++k) {
    weight_knobs_[k] = weights_[k];
    weight_knobs_[k].noalias() -=
        (T(weight_eps_[k]) * inv_b) * (states_[k].transpose() * states_[k + 1]);
  }
  for (std::size_t l = 1; l < states_.size(); ++l)
    bias_knobs_[l - 1] =
        biases_[l - 1] - (T(bias_eps_[l - 1]) * inv_b) * states_[l].colwise().sum();
  input_knob_.explicit_value = false;
  input_knob_.coef = weight_eps_[0];
  input_knob_.pre = states_[0];
  input_knob_.post = states_[1];
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_holding_parameters() {
  ensure_input_drive();
  RelaxReport r = relax_states(input_drive_);
  set_knobs_consistent();
  return r;
}

template <typename T>
void HopfieldNetwork<T>::update_parameters() {
  // Each parameter at the minimum of F given the present states: theta = u - eps dE/dtheta.
  const T inv_b = T(1) / T(batch_);
  for (std::size_t k = 1; k < spec_.edges(); ++k) {
    weights_[k] = weight_knobs_[k];
    weights_[k].noalias() +=
        (T(weight_eps_[k]) * inv_b) * (states_[k].transpose() * states_[k + 1]);
  }
  for (std::size_t l = 1; l < states_.size(); ++l)
    biases_[l - 1] =
        bias_knobs_[l - 1] + (T(bias_eps_[l - 1]) * inv_b) * states_[l].colwise().sum();
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_free() {
  ensure_input_drive();
  const T inv_b = T(1) / T(batch_);
  const T eps0 = T(weight_eps_[0]);

  // Rounds of (states to equilibrium at fixed parameters, then one parameter step). With
  // parameter_sweeps = 1 the parameters are slow and take a single step once the states have
  // settled (the authors' regime); 0 lets them relax with the states to the joint minimum.
  const std::size_t max_rounds =
      spec_.parameter_sweeps ? spec_.parameter_sweeps : spec_.max_iterations;
  RelaxReport total;
  Matrix drive;  // S0 theta_0 for theta_0 as it stands after a parameter step
  Matrix knob_drive;
  for (std::size_t round = 1; round <= max_rounds; ++round) {
    const RelaxReport r = relax_states(round == 1 ? input_drive_ : drive);
    total.iterations += r.iterations;
    total.residual = r.residual;
    total.converged = r.converged;
    update_parameters();
    if (!r.converged || (round > 1 && r.iterations <= 1)) break;  // diverging, or joint rest
    if (round == max_rounds) {
      // Slow parameters (one round) settle by design after their step; a joint relaxation that
      // ran out of rounds while the states still moved has not reached equilibrium.
      total.converged = max_rounds == 1 || r.iterations <= 1;
      break;
    }
    // Another round: theta_0 = u_0 + eps_0 S0^T S1 / B is never formed while the inputs stay
    // clamped, since S0 theta_0 = S0 u_0 + eps_0 G S1 with G = S0 S0^T / B: B x B work only.
    if (round == 1) {
      ensure_gram();
      knob_drive = input_drive_for_knob();
    }
    drive = knob_drive;
    drive.noalias() += eps0 * (gram_ * states_[1]);
  }

  // Now form theta_0 = u_0 + eps_0 S0^T S1 / B, as one rank-B correction of theta_0.
  if (input_knob_.explicit_value) {
    weights_[0] = input_knob_.value;
    input_rank_update(weights_[0], states_[1], eps0 * inv_b);
  } else if (input_knob_.pre.rows() == states_[0].rows() && input_knob_.pre == states_[0]) {
    const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
    delta_.noalias() = (eps0 * inv_b) * states_[1] - c * input_knob_.post;
    input_rank_update(weights_[0], delta_, T(1));
  } else {
    const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
    weights_[0].noalias() -= c * (input_knob_.pre.transpose() * input_knob_.post);
    input_rank_update(weights_[0], states_[1], eps0 * inv_b);
  }
  input_drive_valid_ = false;
  input_knob_.explicit_value = false;
  input_knob_.coef = weight_eps_[0];
  input_knob_.pre = states_[0];
  input_knob_.post = states_[1];
  return total;
}

template <typename T>
typename HopfieldNetwork<T>::Matrix HopfieldNetwork<T>::input_drive_for_knob() {
  // S0 u_0, from the implicit form u_0 = theta_0 - c pre^T post when it holds.
  Matrix knob_drive;
  if (input_knob_.explicit_value) {
    input_product(input_knob_.value, knob_drive);
    return knob_drive;
  }
  const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
  knob_drive = input_drive_;
  if (input_knob_.pre.rows() == states_[0].rows() && input_knob_.pre == states_[0]) {
    knob_drive.noalias() -= (c * T(batch_)) * (gram_ * input_knob_.post);
  } else {
    Matrix cross;
    cross.noalias() = states_[0] * input_knob_.pre.transpose();
    knob_drive.noalias() -= c * (cross * input_knob_.post);
  }
  return knob_drive;
}

namespace {

// One layer's block update, fused into a single pass: solve (the layer's energy is quadratic in
// its own state), clamp to the interval, measure how far it moved (L1), store.
template <typename T, bool kBase, bool kPull>
T settle_layer_pass(T* s, const T* a, const T* base, const T* pull, T keep, T lo, T hi,
                    Eigen::Index count) {
  T moved = 0;
#pragma omp simd reduction(+ : moved)
  for (Eigen::Index i = 0; i < count; ++i) {
    T v = a[i];
    if constexpr (kBase) v += base[i];
    if constexpr (kPull) v = keep * v + pull[i];
    v = std::min(std::max(v, lo), hi);  // minps/maxps: branch-free, so the loop vectorises
    moved += std::abs(v - s[i]);
    s[i] = v;
  }
  return moved;
}

template <typename T>
T settle_layer(T* s, const T* a, const T* base, const T* pull, T keep, T lo, T hi,
               Eigen::Index count) {
  if (base) {
    return pull ? settle_layer_pass<T, true, true>(s, a, base, pull, keep, lo, hi, count)
                : settle_layer_pass<T, true, false>(s, a, base, pull, keep, lo, hi, count);
  }
  return pull ? settle_layer_pass<T, false, true>(s, a, base, pull, keep, lo, hi, count)
              : settle_layer_pass<T, false, false>(s, a, base, pull, keep, lo, hi, count);
}

}  // namespace

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_states(const Matrix& input_drive) {
  const std::size_t L = states_.size();
  const std::size_t out = L - 1;
  // What stays fixed while the states relax, formed once: the first hidden layer's drive from
  // the clamped inputs plus its bias, and the nudge's pull on the outputs.
  lower_drive_ = input_drive;
  lower_drive_.rowwise() += biases_[0];
  const T keep = T(1) / (T(1) + beta_);
  nudge_pull_ = (beta_ * keep) * targets_;

  // Replicas relax independently given the parameters: split them across threads, each block
  // with its share of the stopping rule (per-layer L1 change below threshold * block / batch),
  // so the blocks never wait for each other inside a relaxation and the whole batch still meets
  // the rule. One thread applies the rule to the whole batch, exactly as the authors do.
  const std::size_t threads = std::max<std::size_t>(1, std::min(team_->size(), batch_ / 8));
  std::vector<double> last_move(threads * L, 0.0);  // [thread][layer]
  std::vector<std::size_t> sweeps(threads, 0);
  // One buffer per layer and thread, kept across relaxations: the layers differ in width, and a
  // shared one would be reallocated twice a sweep. Sized here, before the team starts.
  if (drive_buffers_.size() < threads) drive_buffers_.resize(threads);
  for (auto& per_thread : drive_buffers_) per_thread.resize(L);
  team_->run([&](std::size_t t) {
    if (t >= threads) return;
    const auto [first, last] = RowTeam::share(batch_, threads, t);
    const Eigen::Index r0 = Eigen::Index(first), n = Eigen::Index(last - first);
    std::vector<Matrix>& drives = drive_buffers_[t];
    const double share = spec_.threshold * double(n) / double(batch_);
    double* mine = &last_move[t * L];
    for (std::size_t it = 1; it <= spec_.max_iterations; ++it) {
      // Output layer first, then down to the first hidden layer (the authors' "backward" order).
      for (std::size_t l = out; l >= 1; --l) {
        // drive = what the neighbours and the bias ask of this layer; the first hidden layer's
        // share from the clamped inputs (and its bias) was formed once, in lower_drive_.
        const bool has_above = l < out;
        Matrix& drive = drives[l];
        if (l > 1) {
          drive.noalias() = states_[l - 1].middleRows(r0, n) * weights_[l - 1];
          drive.rowwise() += biases_[l - 1];
          if (has_above)
            drive.noalias() += states_[l + 1].middleRows(r0, n) * weights_[l].transpose();
        } else if (has_above) {
          drive.noalias() = states_[l + 1].middleRows(r0, n) * weights_[l].transpose();
        }
        const Eigen::Index cols = states_[l].cols();
        T* s = states_[l].data() + r0 * cols;
        const Eigen::Index count = n * cols;
        const T lo = T(spec_.intervals[l - 1].low), hi = T(spec_.intervals[l - 1].high);
        const T* base = l == 1 ? lower_drive_.data() + r0 * cols : nullptr;
        const T* a = l == 1 && !has_above ? base : drive.data();
        if (l == 1 && !has_above) base = nullptr;
        const T* pull = l == out && beta_ != T(0) ? nudge_pull_.data() + r0 * cols : nullptr;
        mine[l] = double(settle_layer(s, a, base, pull, pull ? keep : T(1), lo, hi, count));
      }
      sweeps[t] = it;
      double worst = 0.0;
      for (std::size_t l = 1; l < L; ++l) worst = std::max(worst, mine[l]);
      if (!std::isfinite(worst) || worst < share) break;
    }
  });
  RelaxReport report;
  for (std::size_t k = 0; k < threads; ++k)
    report.iterations = std::max(report.iterations, sweeps[k]);
  for (std::size_t l = 1; l < L; ++l) {
    double sum = 0.0;
    for (std::size_t k = 0; k < threads; ++k) sum += last_move[k * L + l];
    report.residual = std::max(report.residual, sum);
  }
  report.converged = report.residual < spec_.threshold;
  return report;
}

namespace {

// Raw native-endian blocks: a snapshot is read back by the same build on the same machine (a
// resumed session), not exchanged; the header's precision and shape checks catch the rest.
constexpr char kSnapshotMagic[8] = {'A', 'E', 'Q', 'H', 'O', 'P', '1', '\n'};

template <typename V>
void put(std::ostream& out, const V& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename V>
V take(std::istream& in) {
  V v{};
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  if (!in) throw std::runtime_error("the snapshot ends early");
  return v;
}

template <typename M>
void put_matrix(std::ostream& out, const M& m) {
  put(out, std::int64_t(m.rows()));
  put(out, std::int64_t(m.cols()));
  out.write(reinterpret_cast<const char*>(m.data()),
            std::streamsize(m.size() * sizeof(typename M::Scalar)));
}

// rows < 0: any count up to -rows (a matrix whose height varies with the batch).
template <typename M>
void take_matrix(std::istream& in, M& m, Eigen::Index rows, Eigen::Index cols, const char* what) {
  const auto r = take<std::int64_t>(in), c = take<std::int64_t>(in);
  if ((rows >= 0 && r != rows) || (rows < 0 && r > -rows) || c != cols || r < 0)
    throw std::runtime_error(
        std::string(what) + " has shape " + std::to_string(r) + "x" + std::to_string(c) +
        ", expected " + (rows >= 0 ? std::to_string(rows) : "at most " + std::to_string(-rows)) +
        "x" + std::to_string(cols));
  m.resize(r, c);
  in.read(reinterpret_cast<char*>(m.data()),
          std::streamsize(m.size() * sizeof(typename M::Scalar)));
  if (!in) throw std::runtime_error("the snapshot ends early");
}

}  // namespace

template <typename T>
void HopfieldNetwork<T>::save(std::ostream& out) const {
  out.write(kSnapshotMagic, sizeof kSnapshotMagic);
  put(out, std::uint32_t(sizeof(T)));
  put(out, std::uint64_t(states_.size()));
  put(out, std::uint64_t(batch_));
  put(out, double(beta_));
  for (const auto& w : weights_) put_matrix(out, w);
  for (const auto& b : biases_) put_matrix(out, b);
  for (std::size_t k = 1; k < weight_knobs_.size(); ++k) put_matrix(out, weight_knobs_[k]);
  for (const auto& b : bias_knobs_) put_matrix(out, b);
  put(out, std::uint8_t(input_knob_.explicit_value));
  put(out, input_knob_.coef);
  put_matrix(out, input_knob_.value);
  put_matrix(out, input_knob_.pre);
  put_matrix(out, input_knob_.post);
  for (double e : weight_eps_) put(out, e);
  for (double e : bias_eps_) put(out, e);
  for (const auto& s : states_) put_matrix(out, s);
  put_matrix(out, targets_);
}

template <typename T>
void HopfieldNetwork<T>::restore(std::istream& in) {
  char magic[sizeof kSnapshotMagic];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kSnapshotMagic, sizeof magic) != 0)
    throw std::runtime_error("not a Hopfield network snapshot");
  if (take<std::uint32_t>(in) != sizeof(T))
    throw std::runtime_error("the snapshot was taken at another precision");
  if (take<std::uint64_t>(in) != states_.size())
    throw std::runtime_error("the snapshot has another number of layers");
  const auto batch = take<std::uint64_t>(in);
  if (batch == 0 || batch > spec_.replicas)
    throw std::runtime_error("the snapshot's batch of " + std::to_string(batch) +
                             " replicas does not fit");
  const T beta = T(take<double>(in));
  // Read into fresh copies, so a damaged snapshot leaves this network as it was.
  const auto& L = spec_.layers;
  const Eigen::Index B = Eigen::Index(batch);
  std::vector<Matrix> weights(weights_.size()), weight_knobs(weight_knobs_.size());
  std::vector<Row> biases(biases_.size()), bias_knobs(bias_knobs_.size());
  for (std::size_t k = 0; k < weights.size(); ++k)
    take_matrix(in, weights[k], Eigen::Index(L[k]), Eigen::Index(L[k + 1]), "a weight");
  for (std::size_t l = 0; l < biases.size(); ++l)
    take_matrix(in, biases[l], 1, Eigen::Index(L[l + 1]), "a bias");
  for (std::size_t k = 1; k < weight_knobs.size(); ++k)
    take_matrix(in, weight_knobs[k], Eigen::Index(L[k]), Eigen::Index(L[k + 1]), "a weight knob");
  for (std::size_t l = 0; l < bias_knobs.size(); ++l)
    take_matrix(in, bias_knobs[l], 1, Eigen::Index(L[l + 1]), "a bias knob");
  InputKnob knob;
  knob.explicit_value = take<std::uint8_t>(in) != 0;
  knob.coef = take<double>(in);
  take_matrix(in, knob.value, -Eigen::Index(L[0]), Eigen::Index(L[1]), "the input knob");
  take_matrix(in, knob.pre, -Eigen::Index(spec_.replicas), Eigen::Index(L[0]),
              "the input knob's inputs");
  take_matrix(in, knob.post, knob.pre.rows(), Eigen::Index(L[1]), "the input knob's states");
  // Explicit: the full matrix. Implicit: relative to a batch of inputs, which cannot be empty.
  if ((knob.explicit_value && knob.value.rows() != Eigen::Index(L[0])) ||
      (!knob.explicit_value && knob.pre.rows() == 0))
    throw std::runtime_error("the input knob has the wrong shape");
  std::vector<double> weight_eps(weight_eps_.size()), bias_eps(bias_eps_.size());
  for (double& e : weight_eps) e = take<double>(in);
  for (double& e : bias_eps) e = take<double>(in);
  std::vector<Matrix> states(states_.size());
  for (std::size_t l = 0; l < states.size(); ++l)
    take_matrix(in, states[l], B, Eigen::Index(L[l]), "a layer's state");
  Matrix targets;
  take_matrix(in, targets, B, Eigen::Index(L.back()), "the targets");
  if (in.peek() != std::char_traits<char>::eof())
    throw std::runtime_error("the snapshot has trailing bytes");

  weights_ = std::move(weights);
  biases_ = std::move(biases);
  weight_knobs_ = std::move(weight_knobs);
  bias_knobs_ = std::move(bias_knobs);
  input_knob_ = std::move(knob);
  weight_eps_ = std::move(weight_eps);
  bias_eps_ = std::move(bias_eps);
  states_ = std::move(states);
  targets_ = std::move(targets);
  batch_ = batch;
  beta_ = beta;
  // Caches are rebuilt from the restored state, as set_inputs would.
  input_drive_valid_ = gram_valid_ = false;
  index_inputs();
}

template class HopfieldNetwork<float>;
template class HopfieldNetwork<double>;

}  // namespace aeqlab::sim
