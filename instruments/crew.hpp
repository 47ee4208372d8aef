#pragma once
// One worker thread per instrument, so a bench talks to all its instruments at once: a write
// that spans five DACs costs one round trip, not five. Work for a single instrument runs on the
// caller's thread (no hand-over cost on the common path).

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aeqlab::instruments {

class Crew {
 public:
  explicit Crew(std::size_t members);
  ~Crew();
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;

  // Runs each job on its member's thread (jobs[i].first = member), waits for all, and rethrows
  // the first failure once every job has finished.
  void run(std::vector<std::pair<std::size_t, std::function<void()>>> jobs);

 private:
  struct Member {
    std::thread thread;
    std::function<void()> job;
    bool has_job = false;
    // Its own: a flush to two instruments wakes those two threads, not the whole crew (on a
    // loaded machine every needless wake-up queues for a core ahead of the round trip's).
    std::condition_variable wake;
  };
  void work(std::size_t i);
  std::vector<Member> members_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t pending_ = 0;
  std::exception_ptr failure_;
  bool quit_ = false;
};

}  // namespace aeqlab::instruments
