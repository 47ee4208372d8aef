#include "sim/hopfield/row_team.hpp"

#include <atomic>
#include <chrono>

namespace aeqlab::sim {

struct RowTeam::Spin {
  std::atomic<std::size_t> generation{0};
  std::atomic<std::size_t> pending{0};
};

namespace {
// Long enough to catch the next relaxation of a training loop without sleeping, short enough to
// give the core back quickly when the process is not the only one on the machine.
constexpr auto kSpin = std::chrono::microseconds(50);
}  // namespace

RowTeam::RowTeam(std::size_t members) : members_(members ? members : 1), spin_(new Spin) {
  for (std::size_t m = 1; m < members_; ++m) threads_.emplace_back([this, m] { work(m); });
}

RowTeam::~RowTeam() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    ++generation_;
    spin_->generation.store(generation_);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::pair<std::size_t, std::size_t> RowTeam::share(std::size_t count, std::size_t members,
                                                   std::size_t m) {
  const std::size_t per = count / members, extra = count % members;
  const std::size_t begin = m * per + std::min(m, extra);
  return {begin, begin + per + (m < extra ? 1 : 0)};
}

void RowTeam::run(const Job& job) {
  if (members_ == 1) {
    job(0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &job;
    pending_ = members_ - 1;
    spin_->pending.store(pending_);
    ++generation_;
    spin_->generation.store(generation_);
  }
  wake_.notify_all();
  job(0);
  const auto until = std::chrono::steady_clock::now() + kSpin;
  while (spin_->pending.load(std::memory_order_acquire) != 0 &&
         std::chrono::steady_clock::now() < until) {
  }
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

void RowTeam::work(std::size_t member) {
  std::size_t seen = 0;
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (spin_->generation.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < until) {
    }
    const Job* job = nullptr;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stopping_) return;
      job = job_;
    }
    (*job)(member);
    bool last = false;
    {
      std::lock_guard lock(mutex_);
      last = --pending_ == 0;
      spin_->pending.store(pending_, std::memory_order_release);
    }
    if (last) done_.notify_one();
  }
}

}  // namespace aeqlab::sim
