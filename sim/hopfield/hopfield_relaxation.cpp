// Relaxation: the states to equilibrium at fixed parameters (exact block-coordinate steps,
// the replicas split across the thread team), and the parameters' own step to the minimum of F
// given the states, with the knobs kept consistent with the equilibrium reached.

#include "sim/hopfield/hopfield_network.hpp"
#include "sim/hopfield/narrow_product.hpp"
#include "sim/hopfield/spin_barrier.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace aeqlab::sim {

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
  apply_pending_input_update();
  if (input_knob_.explicit_value) {
    weights_[0] = input_knob_.value;
    delta_ = states_[1];
    defer_input_update(delta_, eps0 * inv_b);
  } else if (input_knob_.pre.rows() == states_[0].rows() && input_knob_.pre == states_[0]) {
    const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
    delta_.noalias() = (eps0 * inv_b) * states_[1] - c * input_knob_.post;
    defer_input_update(delta_, T(1));
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

template <typename T>
void HopfieldNetwork<T>::prepare_narrow_products() {
  // A layer of at most 16 units (the paper's outputs) takes its drive from below as dot products
  // against W^T's rows (narrow_product.hpp); wider ones through Eigen's GEMM.
  narrow_t_.resize(spec_.edges());
  for (std::size_t k = 1; k < spec_.edges(); ++k) {
    if (weights_[k].cols() <= 16)
      narrow_t_[k] = weights_[k].transpose();
    else
      narrow_t_[k].resize(0, 0);
  }
}

template <typename T>
void HopfieldNetwork<T>::product_from_below(std::size_t l, Eigen::Index r0, Eigen::Index n,
                                            Matrix& drive) const {
  const Matrix& below = states_[l - 1];
  const Matrix& wt = narrow_t_[l - 1];
  if (wt.size() == 0) {
    drive.noalias() = below.middleRows(r0, n) * weights_[l - 1];
    return;
  }
  drive.resize(n, wt.rows());
  narrow_product(below.data() + r0 * below.cols(), below.cols(), wt.data(), wt.cols(), wt.cols(), n,
                 wt.rows(), drive.data(), wt.rows());
}

namespace {

// One layer's block update, fused into a single pass: solve (the layer's energy is quadratic in
// its own state), clamp to the interval, measure how far it moved (L1), store. Each replica's row
// is measured on its own (`moved[r]`), so the stopping rule can add the rows in row order and see
// the same number whether one process settled them or the ranks of a data-parallel run split them
// (docs/mpi.md).
template <typename T, bool kBase, bool kPull>
void settle_rows_pass(T* s, const T* a, const T* base, const T* pull, T keep, T lo, T hi,
                      Eigen::Index rows, Eigen::Index cols, double* moved) {
  for (Eigen::Index r = 0; r < rows; ++r) {
    const Eigen::Index at = r * cols;
    T m = 0;
#pragma omp simd reduction(+ : m)
    for (Eigen::Index i = at; i < at + cols; ++i) {
      T v = a[i];
      if constexpr (kBase) v += base[i];
      if constexpr (kPull) v = keep * v + pull[i];
      v = std::min(std::max(v, lo), hi);  // minps/maxps: branch-free, so the loop vectorises
      m += std::abs(v - s[i]);
      s[i] = v;
    }
    moved[r] = double(m);
  }
}

template <typename T>
void settle_rows(T* s, const T* a, const T* base, const T* pull, T keep, T lo, T hi,
                 Eigen::Index rows, Eigen::Index cols, double* moved) {
  if (!pull) keep = T(1);
  if (base) {
    pull ? settle_rows_pass<T, true, true>(s, a, base, pull, keep, lo, hi, rows, cols, moved)
         : settle_rows_pass<T, true, false>(s, a, base, pull, keep, lo, hi, rows, cols, moved);
  } else {
    pull ? settle_rows_pass<T, false, true>(s, a, base, pull, keep, lo, hi, rows, cols, moved)
         : settle_rows_pass<T, false, false>(s, a, base, pull, keep, lo, hi, rows, cols, moved);
  }
}

// The rows a rank settles. Eigen's products take rows in packets (4 doubles or 8 floats with
// AVX2, twice that with AVX-512) and handle the rows left over by another path that sums in
// another order; so each rank's block starts at a multiple of 64 bytes of rows and every block
// but the last is whole packets: every row then goes through the same path as in the one-process
// product over the whole batch, and gets the same bits (docs/mpi.md).
template <typename T>
std::pair<std::size_t, std::size_t> shared_rows(std::size_t batch, std::size_t ranks,
                                                std::size_t rank) {
  constexpr std::size_t unit = 64 / sizeof(T);
  const std::size_t units = (batch + unit - 1) / unit;
  const auto [u0, u1] = RowTeam::share(units, ranks, rank);
  return {std::min(batch, u0 * unit), std::min(batch, u1 * unit)};
}

}  // namespace

template <typename T>
void HopfieldNetwork<T>::settle_layer_rows(std::size_t l, Eigen::Index r0, Eigen::Index n,
                                           Matrix& drive, T keep, double* moved) {
  // drive = what the neighbours and the bias ask of this layer; the first hidden layer's share
  // from the clamped inputs (and its bias) was formed once, in lower_drive_.
  const std::size_t out = states_.size() - 1;
  const bool has_above = l < out;
  if (l > 1) {
    product_from_below(l, r0, n, drive);
    drive.rowwise() += biases_[l - 1];
    if (has_above) drive.noalias() += states_[l + 1].middleRows(r0, n) * weights_[l].transpose();
  } else if (has_above) {
    drive.noalias() = states_[l + 1].middleRows(r0, n) * weights_[l].transpose();
  }
  const Eigen::Index cols = states_[l].cols();
  T* s = states_[l].data() + r0 * cols;
  const T lo = T(spec_.intervals[l - 1].low), hi = T(spec_.intervals[l - 1].high);
  const T* base = l == 1 ? lower_drive_.data() + r0 * cols : nullptr;
  const T* a = l == 1 && !has_above ? base : drive.data();
  if (l == 1 && !has_above) base = nullptr;
  const T* pull = l == out && beta_ != T(0) ? nudge_pull_.data() + r0 * cols : nullptr;
  settle_rows(s, a, base, pull, keep, lo, hi, n, cols, moved);
}

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

  prepare_narrow_products();
  if (group_ && group_->size() > 1) return relax_shared_states();

  // Replicas relax independently given the parameters: split them across the team's threads in
  // blocks of whole 64-byte rows (so each row's products give the bits they give in one product
  // over the batch). The stopping rule is the whole batch's, exactly as the authors apply it: after
  // each sweep every thread adds every row's change in row order and so reaches the same
  // decision as one thread would, at one barrier per sweep (docs/hopfield-device.md §8).
  const std::size_t unit = 64 / sizeof(T);
  const std::size_t threads =
      std::max<std::size_t>(1, std::min(team_->size(), (batch_ + unit - 1) / unit));
  const std::size_t stride = (L - 1) * batch_;  // one sweep's [layer][row] changes
  row_moves_.assign(2 * stride, 0.0);
  std::size_t sweeps = 0;
  double residual = 0.0;
  // One buffer per layer and thread, kept across relaxations: the layers differ in width, and a
  // shared one would be reallocated twice a sweep. Sized here, before the team starts.
  if (drive_buffers_.size() < threads) drive_buffers_.resize(threads);
  for (auto& per_thread : drive_buffers_) per_thread.resize(L);
  SpinBarrier barrier(threads);
  team_->run([&](std::size_t t) {
    if (t >= threads) return;
    const auto [first, last] = shared_rows<T>(batch_, threads, t);
    const Eigen::Index r0 = Eigen::Index(first), n = Eigen::Index(last - first);
    std::vector<Matrix>& drives = drive_buffers_[t];
    for (std::size_t it = 1; it <= spec_.max_iterations; ++it) {
      double* moves = row_moves_.data() + (it % 2) * stride;  // this sweep's; the last one's is
                                                              // still being read by the others
      // Output layer first, then down to the first hidden layer (the authors' "backward" order).
      for (std::size_t l = out; l >= 1 && n > 0; --l) {
        settle_layer_rows(l, r0, n, drives[l], keep, moves + (l - 1) * batch_ + first);
      }
      barrier.arrive_and_wait();
      // Every thread reads the same numbers in the same order: the same decision everywhere.
      double worst = 0.0;
      for (std::size_t l = 1; l < L; ++l) {
        double sum = 0.0;
        for (std::size_t r = 0; r < batch_; ++r) sum += moves[(l - 1) * batch_ + r];
        worst = std::max(worst, sum);
      }
      if (!std::isfinite(worst) || worst < spec_.threshold || it == spec_.max_iterations) {
        if (t == 0) sweeps = it, residual = worst;
        break;
      }
    }
  });
  RelaxReport report;
  report.iterations = sweeps;
  report.residual = residual;
  report.converged = report.residual < spec_.threshold;
  return report;
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_shared_states() {
  // Data-parallel (docs/mpi.md): this rank settles its own block of replicas; the stopping rule is
  // the whole batch's, applied exactly as one process applies it, to every row's change gathered
  // in rank order (= row order); at the end the rows of every layer are gathered, so each rank
  // holds the states of the whole batch, as one process would.
  //
  // Replicas are independent given the parameters, so a rank need not wait for the others after
  // every sweep: it runs a window of sweeps (as many as the last relaxation took), keeping its
  // rows after each, then one gather tells every rank where the whole batch stopped, and each
  // goes back to its rows at that sweep. Same sweeps, same bits, a few exchanges per relaxation
  // instead of one per sweep.
  const std::size_t L = states_.size(), out = L - 1, P = group_->size();
  const auto [first, last] = shared_rows<T>(batch_, P, group_->rank());
  const Eigen::Index r0 = Eigen::Index(first), n = Eigen::Index(last - first);
  const T keep = T(1) / (T(1) + beta_);
  std::vector<std::size_t> rows(P);
  for (std::size_t p = 0; p < P; ++p) {
    const auto [f, l] = shared_rows<T>(batch_, P, p);
    rows[p] = l - f;
  }
  // Ranks add to threads: the rank's team splits its block of rows again, in whole 64-byte rows
  // (the bits of one product over the batch, as in relax_states). Rows are independent within a
  // window, so the team needs no barrier there: each thread runs the whole window on its rows.
  const std::size_t unit = 64 / sizeof(T);
  const std::size_t my_units = (std::size_t(n) + unit - 1) / unit;
  const std::size_t threads = std::max<std::size_t>(1, std::min(team_->size(), my_units));
  if (drive_buffers_.size() < threads) drive_buffers_.resize(threads);
  for (auto& per_thread : drive_buffers_) per_thread.resize(L);
  const std::size_t per_row = L - 1;
  std::vector<double> mine, all, sums(L, 0.0);
  std::vector<std::vector<double>> row_moves(threads, std::vector<double>(std::size_t(n)));
  std::size_t done = 0, stop = 0;  // sweeps run so far; the sweep the batch stopped at
  while (stop == 0) {
    const std::size_t window = std::min(
        spec_.max_iterations - done, done == 0 ? std::max<std::size_t>(1, shared_sweeps_hint_)
                                               : std::max<std::size_t>(1, shared_sweeps_hint_ / 4));
    if (shared_window_.size() < window) shared_window_.resize(window);
    for (std::size_t w = 0; w < window; ++w) {
      // This rank's rows after each sweep, in case the batch stops there: sized before the team.
      auto& kept = shared_window_[w];
      kept.resize(L);
      for (std::size_t l = 1; l < L; ++l) kept[l].resize(n, states_[l].cols());
    }
    mine.assign(window * std::size_t(n) * per_row, 0.0);
    team_->run([&](std::size_t t) {
      if (t >= threads) return;
      const auto [u0, u1] = RowTeam::share(my_units, threads, t);
      const Eigen::Index a = Eigen::Index(std::min(std::size_t(n), u0 * unit));
      const Eigen::Index m = Eigen::Index(std::min(std::size_t(n), u1 * unit)) - a;
      if (m <= 0) return;
      std::vector<Matrix>& drives = drive_buffers_[t];
      double* moves = row_moves[t].data();
      for (std::size_t w = 0; w < window; ++w) {
        for (std::size_t l = out; l >= 1; --l) {
          settle_layer_rows(l, r0 + a, m, drives[l], keep, moves);
          for (Eigen::Index r = 0; r < m; ++r)
            mine[(w * std::size_t(n) + std::size_t(a + r)) * per_row + (l - 1)] = moves[r];
        }
        auto& kept = shared_window_[w];
        for (std::size_t l = 1; l < L; ++l)
          kept[l].middleRows(a, m) = states_[l].middleRows(r0 + a, m);
      }
    });
    // Every rank's changes: [rank][sweep][row][layer], ranks in order.
    std::vector<std::size_t> counts(P);
    for (std::size_t p = 0; p < P; ++p) counts[p] = rows[p] * per_row * window;
    all.assign(batch_ * per_row * window, 0.0);
    group_->all_gather(mine, counts, all);
    for (std::size_t w = 0; w < window && stop == 0; ++w) {
      // The one-process sum: rows in order, which is ranks in order, each rank's rows in order.
      double worst = 0.0;
      for (std::size_t l = 1; l < L; ++l) {
        sums[l] = 0.0;
        std::size_t at = 0;
        for (std::size_t p = 0; p < P; ++p) {
          for (std::size_t r = 0; r < rows[p]; ++r)
            sums[l] += all[at + (w * rows[p] + r) * per_row + (l - 1)];
          at += rows[p] * per_row * window;
        }
        worst = std::max(worst, sums[l]);
      }
      if (!std::isfinite(worst) || worst < spec_.threshold || done + w + 1 == spec_.max_iterations)
        stop = done + w + 1;
    }
    if (stop != 0 && stop < done + window) {
      // The batch stopped inside the window: back to this rank's rows at that sweep.
      const auto& kept = shared_window_[stop - done - 1];
      for (std::size_t l = 1; l < L; ++l) states_[l].middleRows(r0, n) = kept[l];
    }
    done += window;
  }
  shared_sweeps_hint_ = stop;
  RelaxReport report;
  report.iterations = stop;
  // Every layer's rows in one exchange: [rank][layer][row][unit], then put in place.
  std::size_t units = 0;
  for (std::size_t l = 1; l < L; ++l) {
    units += std::size_t(states_[l].cols());
    report.residual = std::max(report.residual, sums[l]);
  }
  std::vector<T> block;
  block.reserve(std::size_t(n) * units);
  for (std::size_t l = 1; l < L; ++l)
    block.insert(block.end(), states_[l].data() + r0 * states_[l].cols(),
                 states_[l].data() + (r0 + n) * states_[l].cols());
  std::vector<std::size_t> counts(P);
  for (std::size_t p = 0; p < P; ++p) counts[p] = rows[p] * units;
  std::vector<T> gathered(batch_ * units);
  group_->all_gather(std::span<const T>(block), counts, std::span<T>(gathered));
  const T* from = gathered.data();
  for (std::size_t p = 0; p < P; ++p) {
    const std::size_t f = shared_rows<T>(batch_, P, p).first;
    for (std::size_t l = 1; l < L; ++l) {
      const std::size_t cols = std::size_t(states_[l].cols()), count = rows[p] * cols;
      std::copy(from, from + count, states_[l].data() + f * cols);
      from += count;
    }
  }
  report.converged = report.residual < spec_.threshold;
  return report;
}

// The members defined here, for the two precisions the class is built for (hopfield_network.cpp
// instantiates the class itself).
#define AEQLAB_HOPFIELD_RELAXATION(T)                                                           \
  template void HopfieldNetwork<T>::ensure_input_drive();                                       \
  template void HopfieldNetwork<T>::ensure_gram();                                              \
  template void HopfieldNetwork<T>::set_knobs_consistent();                                     \
  template RelaxReport HopfieldNetwork<T>::relax_holding_parameters();                          \
  template void HopfieldNetwork<T>::update_parameters();                                        \
  template RelaxReport HopfieldNetwork<T>::relax_free();                                        \
  template HopfieldNetwork<T>::Matrix HopfieldNetwork<T>::input_drive_for_knob();               \
  template RelaxReport HopfieldNetwork<T>::relax_states(const HopfieldNetwork<T>::Matrix&);     \
  template RelaxReport HopfieldNetwork<T>::relax_shared_states();                               \
  template void HopfieldNetwork<T>::prepare_narrow_products();                                  \
  template void HopfieldNetwork<T>::product_from_below(std::size_t, Eigen::Index, Eigen::Index, \
                                                       HopfieldNetwork<T>::Matrix&) const;      \
  template void HopfieldNetwork<T>::settle_layer_rows(std::size_t, Eigen::Index, Eigen::Index,  \
                                                      HopfieldNetwork<T>::Matrix&, T, double*);
AEQLAB_HOPFIELD_RELAXATION(float)
AEQLAB_HOPFIELD_RELAXATION(double)
#undef AEQLAB_HOPFIELD_RELAXATION

}  // namespace aeqlab::sim
