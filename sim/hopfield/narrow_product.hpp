#pragma once
// out = A B for a narrow B (a layer of few units, like the paper's 10 outputs), given B's
// transpose row-major: each entry is one dot product of a row of A and a row of B^T. Eigen's GEMM
// pads such a product to its 24-row kernel and packs A on every call; here each entry is summed in
// vector lanes (lane i takes the k = i mod P, in order of k), the lanes added by Eigen's fixed
// reduction, then the tail: the same operations for an entry whatever rows and columns are computed
// with it, so a block of rows gives the bits of the whole product (threads and ranks rely on it,
// docs/hopfield-device.md §8). Heavy header (Eigen): sim/hopfield sources only.

#include <Eigen/Core>

namespace aeqlab::sim {

template <typename T>
void narrow_product(const T* a, Eigen::Index lda, const T* bt, Eigen::Index ldb, Eigen::Index K,
                    Eigen::Index rows, Eigen::Index cols, T* out, Eigen::Index ldo) {
  using namespace Eigen::internal;
  using Packet = typename packet_traits<T>::type;
  constexpr Eigen::Index P = packet_traits<T>::size;
  const Eigen::Index K0 = K - K % P;
  const auto finish = [&](const Packet& acc, Eigen::Index r, Eigen::Index j) {
    T tail = T(0);
    for (Eigen::Index k = K0; k < K; ++k) tail += a[r * lda + k] * bt[j * ldb + k];
    out[r * ldo + j] = predux(acc) + tail;
  };
  Eigen::Index r = 0;
  for (; r + 4 <= rows; r += 4) {  // 4 rows x 2 columns: 8 accumulators, 6 loads per 8 FMAs
    const T* a0 = a + r * lda;
    Eigen::Index j = 0;
    for (; j + 2 <= cols; j += 2) {
      const T* b0 = bt + j * ldb;
      const T* b1 = b0 + ldb;
      Packet c00 = pset1<Packet>(T(0)), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
             c30 = c00, c31 = c00;
      for (Eigen::Index k = 0; k < K0; k += P) {
        const Packet x0 = ploadu<Packet>(b0 + k), x1 = ploadu<Packet>(b1 + k);
        Packet y = ploadu<Packet>(a0 + k);
        c00 = pmadd(y, x0, c00);
        c01 = pmadd(y, x1, c01);
        y = ploadu<Packet>(a0 + lda + k);
        c10 = pmadd(y, x0, c10);
        c11 = pmadd(y, x1, c11);
        y = ploadu<Packet>(a0 + 2 * lda + k);
        c20 = pmadd(y, x0, c20);
        c21 = pmadd(y, x1, c21);
        y = ploadu<Packet>(a0 + 3 * lda + k);
        c30 = pmadd(y, x0, c30);
        c31 = pmadd(y, x1, c31);
      }
      finish(c00, r, j), finish(c01, r, j + 1), finish(c10, r + 1, j), finish(c11, r + 1, j + 1);
      finish(c20, r + 2, j), finish(c21, r + 2, j + 1), finish(c30, r + 3, j);
      finish(c31, r + 3, j + 1);
    }
    for (; j < cols; ++j) {
      const T* b0 = bt + j * ldb;
      Packet c0 = pset1<Packet>(T(0)), c1 = c0, c2 = c0, c3 = c0;
      for (Eigen::Index k = 0; k < K0; k += P) {
        const Packet x0 = ploadu<Packet>(b0 + k);
        c0 = pmadd(ploadu<Packet>(a0 + k), x0, c0);
        c1 = pmadd(ploadu<Packet>(a0 + lda + k), x0, c1);
        c2 = pmadd(ploadu<Packet>(a0 + 2 * lda + k), x0, c2);
        c3 = pmadd(ploadu<Packet>(a0 + 3 * lda + k), x0, c3);
      }
      finish(c0, r, j), finish(c1, r + 1, j), finish(c2, r + 2, j), finish(c3, r + 3, j);
    }
  }
  for (; r < rows; ++r)  // the rows left: one at a time, the same sums
    for (Eigen::Index j = 0; j < cols; ++j) {
      const T* a0 = a + r * lda;
      const T* b0 = bt + j * ldb;
      Packet c = pset1<Packet>(T(0));
      for (Eigen::Index k = 0; k < K0; k += P)
        c = pmadd(ploadu<Packet>(a0 + k), ploadu<Packet>(b0 + k), c);
      finish(c, r, j);
    }
}

}  // namespace aeqlab::sim
