#include "core/cli/mpi_world.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <mpi.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::cli::mpi {

namespace {

bool g_started = false;
double g_collective_seconds = 0.0;
std::size_t g_collective_calls = 0;

// Adds the time of one collective to the tally.
struct Timed {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  ~Timed() {
    g_collective_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++g_collective_calls;
  }
};

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(fmt::format("MPI {}: {}", what, std::string(text, std::size_t(len))));
}

void finish() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

// Counts and displacements in bytes-free MPI units, as MPI_Allgatherv takes them.
struct Layout {
  std::vector<int> counts, displs;
};
Layout layout(std::span<const std::size_t> counts) {
  Layout l;
  int at = 0;
  for (std::size_t c : counts) {
    l.counts.push_back(int(c));
    l.displs.push_back(at);
    at += int(c);
  }
  return l;
}

class WorldGroup final : public ReplicaGroup {
 public:
  std::size_t rank() const override { return std::size_t(mpi::rank()); }
  std::size_t size() const override { return std::size_t(mpi::size()); }
  std::size_t size_here() const override {
    // What the launcher says it started on this node (Open MPI, then PMIx); no collective call,
    // so a member may ask at any time.
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE"})
      if (const char* text = std::getenv(v)) {
        const long n = std::strtol(text, nullptr, 10);
        if (n >= 1 && std::size_t(n) <= size()) return std::size_t(n);
      }
    return size();
  }
  void all_gather(std::span<const double> mine, std::span<const std::size_t> counts,
                  std::span<double> all) override {
    gather(mine.data(), mine.size(), counts, all.data(), all.size(), MPI_DOUBLE);
  }
  void all_gather(std::span<const float> mine, std::span<const std::size_t> counts,
                  std::span<float> all) override {
    gather(mine.data(), mine.size(), counts, all.data(), all.size(), MPI_FLOAT);
  }
  bool any(bool flag) override {
    const Timed timed;
    int mine = flag ? 1 : 0, result = 0;
    check(MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "allreduce");
    return result != 0;
  }

 private:
  // Allgatherv places each rank's block at its displacement: no arithmetic, so the result is the
  // rank-order concatenation whatever algorithm the library picks.
  void gather(const void* mine, std::size_t n, std::span<const std::size_t> counts, void* all,
              std::size_t total, MPI_Datatype type) {
    if (counts.size() != size() || counts[rank()] != n)
      throw Error(fmt::format("MPI allgather: rank {} gives {} values, its count says {}", rank(),
                              n, counts.size() == size() ? counts[rank()] : 0));
    std::size_t sum = 0;
    for (auto c : counts) sum += c;
    if (sum != total) throw Error("MPI allgather: the counts do not add up to the receive size");
    const Layout l = layout(counts);
    const Timed timed;
    check(MPI_Allgatherv(mine, int(n), type, all, l.counts.data(), l.displs.data(), type,
                         MPI_COMM_WORLD),
          "allgatherv");
  }
};

}  // namespace

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

bool start() {
  if (g_started) return true;
  if (!launched()) return false;
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    int provided = 0;
    // One thread calls MPI (the run's); the emergency stop's watcher never does.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init");
    std::atexit(finish);
  }
  // Errors come back as codes, reported by name, instead of aborting the job silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  g_started = true;
  return true;
}

int rank() {
  if (!g_started) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  if (!g_started) return 1;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void send(int to, int tag, long value) {
  check(MPI_Send(&value, 1, MPI_LONG, to, tag, MPI_COMM_WORLD), "send");
}

std::optional<std::pair<int, long>> poll(int tag) {
  int waiting = 0;
  MPI_Status st;
  check(MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &waiting, &st), "probe");
  if (!waiting) return std::nullopt;
  long value = 0;
  check(MPI_Recv(&value, 1, MPI_LONG, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "receive");
  return std::make_pair(st.MPI_SOURCE, value);
}

long receive(int from, int tag, const std::function<void()>& idle) {
  for (;;) {
    int waiting = 0;
    check(MPI_Iprobe(from, tag, MPI_COMM_WORLD, &waiting, MPI_STATUS_IGNORE), "probe");
    if (waiting) {
      long value = 0;
      check(MPI_Recv(&value, 1, MPI_LONG, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
      return value;
    }
    if (idle) idle();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

double collective_seconds() {
  return g_collective_seconds;
}
std::size_t collective_calls() {
  return g_collective_calls;
}

void barrier() {
  if (g_started) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

void abort(int code) {
  if (g_started) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

std::shared_ptr<ReplicaGroup> world() {
  if (!g_started) return nullptr;
  static auto group = std::make_shared<WorldGroup>();
  return group;
}

}  // namespace aeqlab::cli::mpi
