// The network's snapshot: every bit that decides what it does next, for bit-identical resume.

#include "sim/hopfield/hopfield_network.hpp"

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace aeqlab::sim {

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
  apply_pending_input_update();  // the snapshot holds W0 as it stands
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

  pending_.active = false;  // W0 is the snapshot's
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

// The members defined here, for the two precisions the class is built for.
#define AEQLAB_HOPFIELD_SNAPSHOT(T)                            \
  template void HopfieldNetwork<T>::save(std::ostream&) const; \
  template void HopfieldNetwork<T>::restore(std::istream&);
AEQLAB_HOPFIELD_SNAPSHOT(float)
AEQLAB_HOPFIELD_SNAPSHOT(double)
#undef AEQLAB_HOPFIELD_SNAPSHOT

}  // namespace aeqlab::sim
