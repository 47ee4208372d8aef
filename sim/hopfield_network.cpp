#include "sim/hopfield_network.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace aeqlab::sim {

template <typename T>
HopfieldNetwork<T>::HopfieldNetwork(const HopfieldSpec& spec) : spec_(spec) {
  spec_.validate();
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
  weight_eps_ = spec_.weight_compliance;
  bias_eps_ = spec_.bias_compliance;
  states_.resize(spec_.layers.size());
  batch_ = spec_.replicas;
  reset_states();
  targets_ = Matrix::Zero(batch_, spec_.layers.back());
}

template <typename T>
void HopfieldNetwork<T>::reset_states() {
  for (std::size_t l = 0; l < states_.size(); ++l) states_[l] = Matrix::Zero(batch_, spec_.layers[l]);
  input_drive_valid_ = gram_valid_ = false;
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
}

template <typename T>
void HopfieldNetwork<T>::set_nudge(T beta, const T* targets) {
  beta_ = beta;
  targets_ = Eigen::Map<const Matrix>(targets, batch_, spec_.layers.back());
}

template <typename T>
void HopfieldNetwork<T>::ensure_input_drive() {
  if (input_drive_valid_) return;
  input_drive_.noalias() = states_[0] * weights_[0];
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
  input_knob_.value.noalias() -=
      (T(input_knob_.coef) / T(input_knob_.pre.rows())) * (input_knob_.pre.transpose() * input_knob_.post);
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
    weight_knobs_[k].noalias() -= (T(weight_eps_[k]) * inv_b) * (states_[k].transpose() * states_[k + 1]);
  }
  for (std::size_t l = 1; l < states_.size(); ++l)
    bias_knobs_[l - 1] = biases_[l - 1] - (T(bias_eps_[l - 1]) * inv_b) * states_[l].colwise().sum();
  input_knob_.explicit_value = false;
  input_knob_.coef = weight_eps_[0];
  input_knob_.pre = states_[0];
  input_knob_.post = states_[1];
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_holding_parameters() {
  ensure_input_drive();
  RelaxReport r = relax_states(input_drive_);
  r.parameter_rounds = 0;
  set_knobs_consistent();
  return r;
}

template <typename T>
void HopfieldNetwork<T>::update_parameters() {
  // Each parameter at the minimum of F given the present states: theta = u - eps dE/dtheta.
  const T inv_b = T(1) / T(batch_);
  for (std::size_t k = 1; k < spec_.edges(); ++k) {
    weights_[k] = weight_knobs_[k];
    weights_[k].noalias() += (T(weight_eps_[k]) * inv_b) * (states_[k].transpose() * states_[k + 1]);
  }
  for (std::size_t l = 1; l < states_.size(); ++l)
    biases_[l - 1] = bias_knobs_[l - 1] + (T(bias_eps_[l - 1]) * inv_b) * states_[l].colwise().sum();
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_free() {
  ensure_input_drive();
  ensure_gram();
  const T inv_b = T(1) / T(batch_);
  const T eps0 = T(weight_eps_[0]);
  // theta_0 = u_0 + eps_0 S0^T S1 / B never needs forming while the inputs stay clamped:
  // S0 theta_0 = S0 u_0 + eps_0 G S1 with G = S0 S0^T / B, all B x B or B x n1 work.
  Matrix knob_drive;  // S0 u_0
  if (input_knob_.explicit_value) {
    knob_drive.noalias() = states_[0] * input_knob_.value;
  } else {
    const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
    Matrix cross;
    cross.noalias() = states_[0] * input_knob_.pre.transpose();
    knob_drive = input_drive_;
    knob_drive.noalias() -= c * (cross * input_knob_.post);
  }

  // Rounds of (states to equilibrium at fixed parameters, then one parameter step). With
  // parameter_sweeps = 1 the parameters are slow and take a single step once the states have
  // settled (the authors' regime); 0 lets them relax with the states to the joint minimum.
  const std::size_t max_rounds = spec_.parameter_sweeps ? spec_.parameter_sweeps : spec_.max_iterations;
  RelaxReport total;
  Matrix drive = input_drive_;  // S0 theta_0 for the parameters as they stand now
  for (std::size_t round = 1; round <= max_rounds; ++round) {
    const RelaxReport r = relax_states(drive);
    total.iterations += r.iterations;
    total.residual = r.residual;
    total.converged = r.converged;
    total.parameter_rounds = round;
    update_parameters();
    drive = knob_drive;
    drive.noalias() += eps0 * (gram_ * states_[1]);
    if (!r.converged || (round > 1 && r.iterations <= 1)) break;  // diverging, or joint rest
  }

  // Now form theta_0 = u_0 + eps_0 S0^T S1 / B, as one rank-B correction of theta_0.
  if (input_knob_.explicit_value) {
    weights_[0] = input_knob_.value;
    weights_[0].noalias() += (eps0 * inv_b) * (states_[0].transpose() * states_[1]);
    input_drive_valid_ = false;
  } else {
    const T c = T(input_knob_.coef) / T(input_knob_.pre.rows());
    if (input_knob_.pre.rows() == states_[0].rows() && input_knob_.pre == states_[0]) {
      Matrix delta = (eps0 * inv_b) * states_[1] - c * input_knob_.post;
      weights_[0].noalias() += states_[0].transpose() * delta;
      input_drive_.noalias() += T(batch_) * (gram_ * delta);  // S0 theta_0 follows cheaply
    } else {
      weights_[0].noalias() -= c * (input_knob_.pre.transpose() * input_knob_.post);
      weights_[0].noalias() += (eps0 * inv_b) * (states_[0].transpose() * states_[1]);
      input_drive_valid_ = false;
    }
  }
  input_knob_.explicit_value = false;
  input_knob_.coef = weight_eps_[0];
  input_knob_.pre = states_[0];
  input_knob_.post = states_[1];
  return total;
}

template <typename T>
RelaxReport HopfieldNetwork<T>::relax_states(const Matrix& input_drive) {
  const std::size_t out = states_.size() - 1;
  RelaxReport report;
  for (std::size_t it = 1; it <= spec_.max_iterations; ++it) {
    double worst = 0.0;
    // Output layer first, then down to the first hidden layer (the authors' "backward" order).
    for (std::size_t l = out; l >= 1; --l) {
      Matrix& drive = drive_;
      if (l == 1)
        drive = input_drive;
      else
        drive.noalias() = states_[l - 1] * weights_[l - 1];
      if (l < out) drive.noalias() += states_[l + 1] * weights_[l].transpose();
      drive.rowwise() += biases_[l - 1];
      if (l == out && beta_ != T(0)) drive = (drive + beta_ * targets_) / (T(1) + beta_);
      const auto& iv = spec_.intervals[l - 1];
      drive = drive.cwiseMax(T(iv.low)).cwiseMin(T(iv.high));
      worst = std::max(worst, double((drive - states_[l]).cwiseAbs().sum()));
      states_[l].swap(drive);
    }
    report.iterations = it;
    report.residual = worst;
    if (!std::isfinite(worst)) break;
    if (worst < spec_.threshold) {
      report.converged = true;
      break;
    }
  }
  return report;
}

template class HopfieldNetwork<float>;
template class HopfieldNetwork<double>;

}  // namespace aeqlab::sim
