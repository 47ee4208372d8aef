#pragma once
// A fixed team of threads that share out the rows of a computation: the caller is member 0 and
// works too. Members wait by spinning briefly, then sleeping, so a team costs a few microseconds
// per job on an idle machine and does not burn a core that another process needs on a busy one
// (OpenMP's default spin-wait made a shared machine ten times slower).

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace aeqlab::sim {

class RowTeam {
 public:
  using Job = std::function<void(std::size_t member)>;

  explicit RowTeam(std::size_t members);
  ~RowTeam();
  RowTeam(const RowTeam&) = delete;
  RowTeam& operator=(const RowTeam&) = delete;

  std::size_t size() const { return members_; }
  // Runs job(m) for every member m (m = 0 on the calling thread) and returns when all are done.
  void run(const Job& job);

  // The share [begin, end) of `count` items that member m takes.
  static std::pair<std::size_t, std::size_t> share(std::size_t count, std::size_t members,
                                                   std::size_t m);

 private:
  void work(std::size_t member);

  std::size_t members_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const Job* job_ = nullptr;
  std::size_t generation_ = 0;  // guarded by mutex_, mirrored in an atomic for spinning
  std::size_t pending_ = 0;
  bool stopping_ = false;
  struct Spin;
  std::unique_ptr<Spin> spin_;
};

}  // namespace aeqlab::sim
