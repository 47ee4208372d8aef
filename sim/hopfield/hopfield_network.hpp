#pragma once
// The physics of a layered Hopfield network with parameters coupled to knobs (docs/algorithm.md,
// docs/hopfield-device.md).
// Heavy header (Eigen): include it only from sim/ sources and tests, never from a widely used one.
//
//   F = sum_l 1/2 |s_l|^2 - sum_k s_k^T W_k s_{k+1} - sum_l b_l . s_l
//       + sum_groups |u - theta|^2 / (2 eps) + beta/2 |s_out - t|^2
//
// averaged over the replicas of a mini-batch, which share the parameters. Each layer's energy is
// quadratic in its own state given its neighbours, so relaxation is exact block-coordinate
// minimisation: solve the layer, clamp it to its interval.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "core/replica_group.hpp"
#include "sim/hopfield/hopfield_spec.hpp"
#include "sim/hopfield/row_team.hpp"

namespace aeqlab::sim {

struct RelaxReport {
  std::size_t iterations = 0;
  double residual = 0.0;  // largest per-layer L1 change of the last sweep
  bool converged = false;
};

template <typename T>
class HopfieldNetwork {
 public:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Row = Eigen::Matrix<T, 1, Eigen::Dynamic>;

  explicit HopfieldNetwork(const HopfieldSpec& spec);

  // Data-parallel (docs/mpi.md): the replicas of each relaxation are split over the group's
  // members, which must all make the same calls; each member then holds the whole batch's states.
  // The team is sized again for the cores the ranks on this machine leave each of them.
  void share_replicas(std::shared_ptr<ReplicaGroup> group);

  const HopfieldSpec& spec() const { return spec_; }
  std::size_t threads() const { return team_->size(); }  // as chosen (device.threads)
  std::size_t active_replicas() const { return batch_; }

  // Inputs: `replicas` rows of the input width, row-major.
  void set_inputs(const T* values, std::size_t replicas);
  void set_nudge(T beta, const T* targets);

  // Parameters held at their present values (native homeostasis, or inference); the knobs end
  // where they must be for that: u = theta + eps dE/dtheta at the equilibrium reached.
  RelaxReport relax_holding_parameters();
  // Knobs held; states and parameters relax together to the minimum of F.
  RelaxReport relax_free();

  // Parameter groups: weights W_0..W_{L-2} (n_pre x n_post), then biases b_1..b_{L-1}.
  std::size_t groups() const { return 2 * spec_.edges(); }
  std::size_t group_size(std::size_t g) const;
  double compliance(std::size_t g) const;
  void set_compliance(std::size_t g, double eps);

  void read_parameters(std::size_t g, T* out) const;
  void write_parameters(std::size_t g, const T* values);
  void read_knobs(std::size_t g, T* out);
  void write_knobs(std::size_t g, const T* values);

  const Matrix& weight(std::size_t k) const {
    if (k == 0) apply_pending_input_update();
    return weights_[k];
  }
  const Row& bias(std::size_t layer) const { return biases_[layer - 1]; }
  const Matrix& state(std::size_t layer) const { return states_[layer]; }
  const Matrix& outputs() const { return states_.back(); }
  // Mean over active replicas of 1/2 |s_out - target|^2.
  double cost() const;
  void reset_states();

  // The whole state that decides what the network does next (parameters, knobs in the form they
  // are kept, compliances, states, nudging), in binary; restore refuses one of another shape.
  void save(std::ostream& out) const;
  void restore(std::istream& in);

 private:
  // The knob of W_0 is kept as theta_0 - coef * S0^T S1 / B whenever it was last left consistent
  // with an equilibrium: the input layer is clamped, so the free phase never needs u_0 itself,
  // only S0 u_0, which that form gives from B x B products instead of an n0 x n1 one.
  struct InputKnob {
    bool explicit_value = true;
    Matrix value;       // when explicit
    double coef = 0.0;  // when implicit
    Matrix pre, post;   // S0 and S1 at the snapshot
  };

  struct InputNonzeros {  // by input unit: the replicas that see it, and the value they see
    bool sparse = false;
    std::vector<std::uint32_t> col_start, col_row;
    std::vector<T> col_value;
  };
  // W0's step at the end of a free-knob relaxation, theta_0 += scale S0^T d, waits for the next
  // input drive S0' theta_0 and is made in the same pass over theta_0 (one read of W0 instead of
  // two; the same operations on every entry, so the same bits). Anything else that reads W0
  // applies it first.
  struct PendingInputUpdate {
    bool active = false;
    InputNonzeros s0;  // the S0 it was formed with, by its nonzeros
    Matrix d;
    T scale = 0;
  };

  void index_inputs();
  void input_product(const Matrix& m, Matrix& out) const;             // out = S0 m
  void input_rank_update(Matrix& m, const Matrix& d, T scale) const;  // m += scale S0^T d
  void rank_update(Matrix& m, const Matrix& d, T scale, const InputNonzeros& s0) const;
  void defer_input_update(Matrix& d, T scale);  // W0 += scale S0^T d, later (swaps d out)
  void apply_pending_input_update() const;      // before anything but the input drive reads W0
  void ensure_input_drive();                    // Q = S0 theta_0
  void ensure_gram();                           // G = S0 S0^T / B
  void materialize_input_knob();
  Matrix input_drive_for_knob();                        // S0 u_0
  void set_knobs_consistent();                          // after a holding relaxation
  RelaxReport relax_states(const Matrix& input_drive);  // parameters fixed
  void prepare_narrow_products();                       // W_k^T of narrow layers, per relaxation
  // drive = rows [r0, r0 + n) of s_{l-1} W_{l-1} (layer l > 1): the product from below.
  void product_from_below(std::size_t l, Eigen::Index r0, Eigen::Index n, Matrix& drive) const;
  // One sweep of layer l over rows [r0, r0 + n): its drive formed in `drive`, the rows settled,
  // each row's L1 move written to moved[0, n). Shared by the threaded and data-parallel paths.
  void settle_layer_rows(std::size_t l, Eigen::Index r0, Eigen::Index n, Matrix& drive, T keep,
                         double* moved);
  RelaxReport relax_shared_states();  // the same, split over group_
  void update_parameters();           // theta = u - eps dE/dtheta, all but W_0

  HopfieldSpec spec_;
  std::size_t batch_ = 0;
  mutable std::vector<Matrix> weights_;  // W0 may owe pending_ (applied by const readers too)
  std::vector<Row> biases_;
  std::vector<Matrix> weight_knobs_;  // for k >= 1; W_0's is input_knob_
  std::vector<Row> bias_knobs_;
  InputKnob input_knob_;
  std::vector<double> weight_eps_, bias_eps_;

  std::vector<Matrix> states_;  // states_[0] are the inputs
  InputNonzeros input_nonzeros_;
  mutable PendingInputUpdate pending_;
  Matrix targets_;
  T beta_ = 0;

  Matrix input_drive_;  // S0 theta_0
  bool input_drive_valid_ = false;
  Matrix gram_;  // S0 S0^T / B
  bool gram_valid_ = false;
  Matrix lower_drive_;  // first hidden layer's drive from the inputs, plus its bias
  Matrix nudge_pull_;   // beta t / (1 + beta)
  std::unique_ptr<RowTeam> team_;
  std::vector<std::vector<Matrix>> drive_buffers_;  // [thread][layer], reused by relax_states
  std::vector<Matrix> narrow_t_;   // [k]: W_k^T when layer k+1 is narrow (narrow_product.hpp)
  std::vector<double> row_moves_;  // [sweep parity][layer][row]: every row's change, for the rule
  Matrix delta_;                   // the free phase's change to theta_0, before it is applied
  std::shared_ptr<ReplicaGroup> group_;  // data-parallel ranks; none: this process alone
  // Sweeps the last shared relaxation took: how far a rank runs before the ranks compare notes.
  // Decides only how much is exchanged, never the result, so a snapshot does not keep it.
  std::size_t shared_sweeps_hint_ = 0;
  std::vector<std::vector<Matrix>> shared_window_;  // [sweep][layer]: own rows after each sweep
};

extern template class HopfieldNetwork<float>;
extern template class HopfieldNetwork<double>;

}  // namespace aeqlab::sim
