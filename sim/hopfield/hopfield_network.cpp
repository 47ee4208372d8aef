// The network's construction, its clamped inputs (and the products with them, through their
// nonzeros when they are few), and access to parameters and knobs by group. Relaxation is in
// hopfield_relaxation.cpp, the snapshot in hopfield_snapshot.cpp.

#include "sim/hopfield/hopfield_network.hpp"

#include "sim/hopfield/thread_choice.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

namespace aeqlab::sim {

template <typename T>
HopfieldNetwork<T>::HopfieldNetwork(const HopfieldSpec& spec) : spec_(spec) {
  spec_.validate();
  // The simulator's one knob on parallelism: relaxations split the replicas, and the products
  // with the clamped inputs split their outputs, across this many threads.
  team_ = std::make_unique<RowTeam>(choose_threads_here(spec_, 1));
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
void HopfieldNetwork<T>::share_replicas(std::shared_ptr<ReplicaGroup> group) {
  group_ = std::move(group);
  const std::size_t here = group_ ? group_->size_here() : 1;
  const std::size_t threads = choose_threads_here(spec_, here);
  if (threads != team_->size()) team_ = std::make_unique<RowTeam>(threads);
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
  // W0's pending step joins the pass below when it is W0's drive being formed over sparse inputs.
  const bool fused = pending_.active && &m == &weights_[0] && sp.sparse;
  if (!fused && &m == &weights_[0]) apply_pending_input_update();
  if (!sp.sparse) {
    out.noalias() = states_[0] * m;
    return;
  }
  // Input unit by input unit, so each row of m (an input's outgoing weights) is read once and
  // added into the replicas that see that input. Plain loops: at a few hundred columns, a library
  // call per nonzero costs more than its work.
  out.setZero(Eigen::Index(batch_), m.cols());
  const std::size_t cols = std::size_t(m.cols());
  const auto& up = pending_.s0;
  T* const w0 = weights_[0].data();
  team_->run([&](std::size_t member) {  // each member fills its own columns
    // Shares of whole 16-column blocks: every column goes through the same vector lanes as with
    // one thread, so the split cannot change a bit.
    const auto [b16, e16] = RowTeam::share((cols + 15) / 16, team_->size(), member);
    const std::size_t c0 = std::min(cols, b16 * 16), w = std::min(cols, e16 * 16) - c0;
    std::vector<T> acc(fused ? w : 0);
    for (std::size_t p = 0; p + 1 < sp.col_start.size(); ++p) {
      if (fused && up.col_start[p] != up.col_start[p + 1]) {
        // W0's row p takes its pending step: the operations of input_rank_update, entry by entry.
        std::fill(acc.begin(), acc.end(), T(0));
        for (std::uint32_t k = up.col_start[p]; k < up.col_start[p + 1]; ++k) {
          const T* row = pending_.d.data() + std::size_t(up.col_row[k]) * cols + c0;
          const T v = up.col_value[k];
#pragma omp simd
          for (std::size_t j = 0; j < w; ++j) acc[j] += v * row[j];
        }
        T* target = w0 + p * cols + c0;
#pragma omp simd
        for (std::size_t j = 0; j < w; ++j) target[j] += pending_.scale * acc[j];
      }
      const T* weights = m.data() + p * cols + c0;
      for (std::uint32_t k = sp.col_start[p]; k < sp.col_start[p + 1]; ++k) {
        T* o = out.data() + std::size_t(sp.col_row[k]) * cols + c0;
        const T v = sp.col_value[k];
#pragma omp simd
        for (std::size_t j = 0; j < w; ++j) o[j] += v * weights[j];
      }
    }
  });
  if (fused) pending_.active = false;
}

template <typename T>
void HopfieldNetwork<T>::input_rank_update(Matrix& m, const Matrix& d, T scale) const {
  rank_update(m, d, scale, input_nonzeros_);
}

template <typename T>
void HopfieldNetwork<T>::rank_update(Matrix& m, const Matrix& d, T scale,
                                     const InputNonzeros& sp) const {
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
void HopfieldNetwork<T>::defer_input_update(Matrix& d, T scale) {
  // The dense product needs S0 itself, which the next inputs replace: that step is made now.
  if (!input_nonzeros_.sparse) {
    input_rank_update(weights_[0], d, scale);
    return;
  }
  pending_.s0 = input_nonzeros_;
  pending_.d.swap(d);
  pending_.scale = scale;
  pending_.active = true;
}

template <typename T>
void HopfieldNetwork<T>::apply_pending_input_update() const {
  if (!pending_.active) return;
  pending_.active = false;
  rank_update(weights_[0], pending_.d, pending_.scale, pending_.s0);
}

template <typename T>
void HopfieldNetwork<T>::set_nudge(T beta, const T* targets) {
  beta_ = beta;
  targets_ = Eigen::Map<const Matrix>(targets, batch_, spec_.layers.back());
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
  if (g == 0) apply_pending_input_update();
  const T* src = g < e ? weights_[g].data() : biases_[g - e].data();
  std::copy(src, src + group_size(g), out);
}

template <typename T>
void HopfieldNetwork<T>::materialize_input_knob() {
  if (input_knob_.explicit_value) return;
  apply_pending_input_update();
  input_knob_.value = weights_[0];
  input_knob_.value.noalias() -= (T(input_knob_.coef) / T(input_knob_.pre.rows())) *
                                 (input_knob_.pre.transpose() * input_knob_.post);
  input_knob_.explicit_value = true;
}

template <typename T>
void HopfieldNetwork<T>::write_parameters(std::size_t g, const T* values) {
  const std::size_t e = spec_.edges();
  if (g == 0) materialize_input_knob();  // its implicit form is relative to theta_0
  if (g == 0) apply_pending_input_update();
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

template class HopfieldNetwork<float>;
template class HopfieldNetwork<double>;

}  // namespace aeqlab::sim
