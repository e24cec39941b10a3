// Graph evaluation: an iterative depth-first walk builds the tape, then each
// node runs on its stream's backend and is detached so that intermediate
// buffers are released as soon as their last consumer has run.
#include <algorithm>
#include <atomic>
#include <unordered_set>

#include "backend/backend.h"
#include "core/host.h"
#include "core/primitive.h"
#include "core/tracing.h"
#include "core/transforms.h"

namespace oxmlx {

namespace {
thread_local std::vector<std::unordered_set<uintptr_t>> no_eval_tracers;
// Scopes alive on any thread (tracing() is conservative across threads).
std::atomic<int> g_trace_scopes{0};

void check_no_tracers(const std::vector<array>& tape, const std::vector<array>& outputs) {
  auto hit = [](const array& a) {
    for (auto& s : no_eval_tracers)
      if (s.count(a.id())) return true;
    return false;
  };
  bool bad = false;
  for (auto& o : outputs) bad |= hit(o);
  for (auto& a : tape) {
    if (bad) break;
    for (auto& in : a.inputs()) bad |= hit(in);
  }
  if (bad)
    throw ValueError(
        "[eval] Attempting to eval an array during function transformations like compile or "
        "vmap is not allowed.");
}
}  // namespace

NoEvalScope::NoEvalScope(const std::vector<array>& tracers) {
  std::unordered_set<uintptr_t> ids;
  for (auto& t : tracers) ids.insert(t.id());
  no_eval_tracers.push_back(std::move(ids));
  g_trace_scopes.fetch_add(1);
}
NoEvalScope::~NoEvalScope() {
  g_trace_scopes.fetch_sub(1);
  no_eval_tracers.pop_back();
}

bool tracing() { return g_trace_scopes.load(std::memory_order_relaxed) != 0; }

std::vector<array> Primitive::vjp(const std::vector<array>&, const std::vector<array>&,
                                  const std::vector<int>&, const std::vector<array>&) {
  throw ValueError(msg("[", name(), "] vjp is not implemented."));
}

std::vector<array> Primitive::jvp(const std::vector<array>&, const std::vector<array>&,
                                  const std::vector<int>&) {
  throw ValueError(msg("[", name(), "] jvp is not implemented."));
}

std::vector<Shape> Primitive::output_shapes(const std::vector<array>&) {
  throw ValueError(msg("[", name(), "] cannot infer output shapes (shapeless compile)."));
}

namespace {
// Marks for eval's walk: each walk takes a fresh value, so "visited" is one
// compare and store on the node instead of a hash-set insertion (which
// allocated per node). Values are unique across threads.
std::atomic<uint64_t> g_visit_epoch{0};
}  // namespace

std::vector<array> graph_postorder(const std::vector<array>& outputs, bool only_unscheduled) {
  std::vector<array> tape;
  // The transforms (only_unscheduled == false) walk graphs that other
  // threads may be evaluating; they keep a private visited set so that a
  // concurrent walk can never make them see a node twice.
  std::unordered_set<const Node*> visited;
  const uint64_t epoch = only_unscheduled ? g_visit_epoch.fetch_add(1) + 1 : 0;
  auto wanted = [&](const array& a) {
    if (!a.has_primitive()) return false;
    if (!only_unscheduled) return visited.insert(a.node().get()).second;
    if (a.status() != Status::unscheduled) return false;
    Node* n = a.node().get();
    if (n->visit_mark == epoch) return false;
    n->visit_mark = epoch;
    return true;
  };
  struct Frame {
    array a;
    size_t next;
  };
  std::vector<Frame> stack;
  for (auto& out : outputs) {
    if (!wanted(out)) continue;
    stack.push_back({out, 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const auto& ins = f.a.inputs();
      if (f.next < ins.size()) {
        const array& in = ins[f.next++];
        if (wanted(in)) stack.push_back({in, 0});
        continue;
      }
      tape.push_back(std::move(f.a));
      stack.pop_back();
    }
  }
  return tape;
}

namespace {

// Runs the tape; GPU streams that got work are returned so eval can wait.
void run_tape(std::vector<array>& tape, std::vector<Stream>& gpu_streams) {
  std::vector<array> outs;  // reused: no allocation per single-output node
  for (auto& slot : tape) {
    // Take the array out of the tape so that, once consumers detach, nothing
    // keeps its buffer alive but the user's own handles.
    array a = std::move(slot);
    if (a.status() != Status::unscheduled) continue;
    if (a.node()->outputs.empty()) outs.push_back(std::move(a));
    else outs = a.outputs();
    {
      auto node = outs[0].node();  // keep the node alive while it runs
      const Stream& s = node->primitive->stream();
      if (s.device.type == Device::cpu) {
        // Host kernels read inputs a GPU backend left in device memory
        // through host copies.
        for (auto& in : node->inputs)
          if (on_device(in)) in = host_array(in);
      } else if (std::find(gpu_streams.begin(), gpu_streams.end(), s) == gpu_streams.end()) {
        gpu_streams.push_back(s);
      }
      node->primitive->eval(node->inputs, outs);
    }
    for (auto& o : outs) {
      o.set_status(Status::available);
      o.detach();
    }
    // Drop our handles now: a consumer may take these buffers over only
    // while it holds their last reference.
    outs.clear();
  }
}

}  // namespace

void eval(std::vector<array> outputs) {
  std::vector<array> tape = graph_postorder(outputs, true);
  if (!no_eval_tracers.empty()) check_no_tracers(tape, outputs);
  std::vector<Stream> gpu_streams;
  run_tape(tape, gpu_streams);
  // eval returns once the values are computed (as in MLX), also on GPUs.
  for (auto& s : gpu_streams) synchronize(s);
}

void async_eval(std::vector<array> outputs) {
  // CPU work runs synchronously at the call; GPU work is queued on the
  // device's stream and not waited for (reading it from the host waits).
  std::vector<array> tape = graph_postorder(outputs, true);
  if (!no_eval_tracers.empty()) check_no_tracers(tape, outputs);
  std::vector<Stream> gpu_streams;
  run_tape(tape, gpu_streams);
}

}  // namespace oxmlx
