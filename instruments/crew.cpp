#include "instruments/crew.hpp"

#include <utility>

namespace aeqlab::instruments {

Crew::Crew(std::size_t members) : members_(members) {
  for (std::size_t i = 0; i < members_.size(); ++i)
    members_[i].thread = std::thread([this, i] { work(i); });
}

Crew::~Crew() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  for (auto& m : members_) m.wake.notify_one();
  for (auto& m : members_) m.thread.join();
}

void Crew::work(std::size_t i) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    members_[i].wake.wait(lock, [&] { return quit_ || members_[i].has_job; });
    if (quit_) return;
    auto job = std::move(members_[i].job);
    members_[i].has_job = false;
    lock.unlock();
    std::exception_ptr failed;
    try {
      job();
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    if (failed && !failure_) failure_ = failed;
    if (--pending_ == 0) done_.notify_one();
  }
}

void Crew::run(std::vector<std::pair<std::size_t, std::function<void()>>> jobs) {
  if (jobs.empty()) return;
  // The caller takes the first job itself: one thread hand-over fewer on every flush.
  std::exception_ptr mine;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    failure_ = nullptr;
    pending_ = jobs.size() - 1;
    for (std::size_t j = 1; j < jobs.size(); ++j) {
      members_.at(jobs[j].first).job = std::move(jobs[j].second);
      members_.at(jobs[j].first).has_job = true;
    }
  }
  for (std::size_t j = 1; j < jobs.size(); ++j) members_.at(jobs[j].first).wake.notify_one();
  try {
    jobs[0].second();
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  if (mine) std::rethrow_exception(mine);
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

}  // namespace aeqlab::instruments
