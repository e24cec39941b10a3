// einsum and einsum_path. The subscripts are parsed (implicit output,
// ellipses expanded into unused letters, broadcasting of size-1 axes), a
// greedy pairwise contraction order is chosen (the rule of numpy's and MLX's
// greedy path: most elements removed first, then cheapest), and every step
// is evaluated with diagonals (gather), single-operand sums, and a batched
// matmul over transposed/reshaped operands (or a broadcast product when
// nothing is contracted).
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "ops/ops.h"

namespace oxmlx {

namespace {

using Dims = std::map<char, int64_t>;

struct Step {
  std::vector<std::string> terms;  // subscripts of the operands combined
  std::string out;                 // subscripts of the result
  std::vector<int> positions;      // in the current operand list (ascending)
};

struct Plan {
  std::vector<Step> steps;
  int64_t naive_cost = 0, opt_cost = 0;
  int naive_scaling = 0, opt_scaling = 0;
};

std::set<char> chars_of(const std::string& s) { return {s.begin(), s.end()}; }

template <typename C>
int64_t term_size(const C& term, const Dims& dims) {
  int64_t n = 1;
  for (char c : term) n *= dims.at(c);
  return n;
}

// numpy's flop estimate: elements touched times (terms - 1, at least 1),
// plus one when something is summed.
int64_t flops(const std::set<char>& idx, bool inner, int num_terms, const Dims& dims) {
  int64_t f = std::max(1, num_terms - 1) + (inner ? 1 : 0);
  return term_size(idx, dims) * f;
}

std::vector<std::string> split_terms(const std::string& lhs) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = lhs.find(',', start);
    if (p == std::string::npos) {
      out.push_back(lhs.substr(start));
      return out;
    }
    out.push_back(lhs.substr(start, p - start));
    start = p + 1;
  }
}

Plan make_plan(const std::string& subscripts_in, const std::vector<array>& ops, const char* fn,
               std::vector<std::string>& terms, std::string& output, Dims& dims) {
  if (ops.empty()) throw ValueError(msg("[", fn, "] At least one operand is required."));
  std::string sub;
  for (char c : subscripts_in)
    if (c != ' ') sub += c;
  std::string lhs = sub, rhs;
  bool explicit_out = false;
  if (auto p = sub.find("->"); p != std::string::npos) {
    lhs = sub.substr(0, p);
    rhs = sub.substr(p + 2);
    explicit_out = true;
  }
  terms = split_terms(lhs);
  if (terms.size() != ops.size())
    throw ValueError(msg("[", fn, "] Number of operands, ", ops.size(),
                         ", does not match number of input subscripts, ", terms.size(), "."));
  if (!explicit_out) {
    // Implicit output: the ellipsis first, then letters seen once, sorted.
    std::map<char, int> count;
    bool ell = false;
    for (auto& t : terms) {
      if (t.find("...") != std::string::npos) ell = true;
      for (char c : t)
        if (c != '.') count[c]++;
    }
    rhs = ell ? "..." : "";
    for (auto& [c, k] : count)
      if (k == 1) rhs += c;
  }
  // Letters free for ellipsis axes (taken from the end, so shorter
  // ellipses line up with the trailing axes of longer ones).
  std::string spare;
  std::set<char> used(sub.begin(), sub.end());
  for (char c = 'a'; c <= 'z'; ++c)
    if (!used.count(c)) spare += c;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (!used.count(c)) spare += c;
  int max_ell = 0;
  auto expand = [&](std::string& t, const array* op, int k) {
    std::string out;
    bool ell = false;
    size_t at = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      if (std::isalpha(static_cast<unsigned char>(t[i]))) {
        out += t[i];
        continue;
      }
      if (t.compare(i, 3, "...") != 0)
        throw ValueError(msg("[", fn, "] Subscripts must be letters, but got '", t[i], "'."));
      if (ell)
        throw ValueError(msg("[", fn,
                             "] Only one ellipsis per subscript is allowed but found more in '", t,
                             "'."));
      ell = true;
      at = out.size();
      i += 2;
    }
    if (ell) {
      int len = max_ell;
      if (op) {
        len = op->ndim() - int(out.size());
        if (len < 0)
          throw ValueError(msg("[", fn, "] Operand ", k, " with shape ", shape_str(op->shape()),
                               " has insufficient dimensions for subscript '", t, "'."));
        max_ell = std::max(max_ell, len);
      }
      if (len > int(spare.size()))
        throw ValueError(msg("[", fn, "] Too many dimensions for the ellipsis."));
      out.insert(at, spare.substr(spare.size() - len));
    }
    t = out;
  };
  for (size_t k = 0; k < terms.size(); ++k) expand(terms[k], &ops[k], int(k));
  expand(rhs, nullptr, -1);
  output = rhs;
  if (chars_of(output).size() != output.size())
    throw ValueError(msg("[", fn, "] Repeat indices not allowed in output."));

  dims.clear();
  for (size_t k = 0; k < terms.size(); ++k) {
    const std::string& t = terms[k];
    if (int(t.size()) != ops[k].ndim())
      throw ValueError(msg("[", fn, "] Invalid number of subscripts ", t.size(), " for input ", k,
                           " with ", ops[k].ndim(), " dimensions."));
    std::map<char, int64_t> local;
    for (size_t j = 0; j < t.size(); ++j) {
      int64_t d = ops[k].shape(int(j));
      auto [it, fresh] = local.insert({t[j], d});
      if (!fresh && it->second != d)
        throw ValueError(msg("[", fn, "] Dimensions of repeated subscripts do not have the same "
                             "size (", it->second, " != ", d, ")."));
      auto [g, gfresh] = dims.insert({t[j], d});
      if (!gfresh) {
        if (d != 1 && g->second != 1 && g->second != d)
          throw ValueError(msg("[", fn, "] Cannot broadcast dimension ", j, " of input ", k,
                               " with shape ", shape_str(ops[k].shape()), " to size ", g->second,
                               "."));
        g->second = std::max(g->second, d);
      }
    }
  }
  for (char c : output)
    if (!dims.count(c))
      throw ValueError(msg("[", fn, "] Output subscript '", c, "' does not appear in the inputs."));

  Plan plan;
  std::set<char> all_idx;
  for (auto& t : terms) all_idx.insert(t.begin(), t.end());
  std::set<char> out_set = chars_of(output);
  bool inner = std::any_of(all_idx.begin(), all_idx.end(), [&](char c) { return !out_set.count(c); });
  plan.naive_cost = flops(all_idx, inner, int(terms.size()), dims);
  plan.naive_scaling = int(all_idx.size());

  std::vector<int> all_pos(terms.size());
  std::iota(all_pos.begin(), all_pos.end(), 0);
  if (terms.size() <= 2) {
    plan.steps.push_back({terms, output, all_pos});
    plan.opt_cost = plan.naive_cost;
    plan.opt_scaling = plan.naive_scaling;
    return plan;
  }

  // Greedy pairwise order.
  int64_t mem_limit = term_size(output, dims);
  for (auto& t : terms) mem_limit = std::max(mem_limit, term_size(t, dims));
  struct Cand {
    int64_t removed, cost;
    std::set<char> out;
    int ndims, x, y;
  };
  std::vector<std::string> cur = terms;
  std::vector<Cand> cands;
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < int(cur.size()); ++i)
    for (int j = i + 1; j < int(cur.size()); ++j) pairs.push_back({i, j});
  int64_t cost_so_far = 0;
  int scaling = 0;
  const size_t n_in = cur.size();
  for (size_t round = 0; round + 1 < n_in; ++round) {
    auto consider = [&](int x, int y) {
      std::set<char> both = chars_of(cur[x]);
      both.insert(cur[y].begin(), cur[y].end());
      std::set<char> keep;
      for (int k = 0; k < int(cur.size()); ++k)
        if (k != x && k != y)
          for (char c : cur[k])
            if (both.count(c)) keep.insert(c);
      for (char c : output)
        if (both.count(c)) keep.insert(c);
      int64_t new_size = term_size(keep, dims);
      if (new_size > mem_limit) return;
      // Sizes of the operands count each letter once (a diagonal is taken first).
      int64_t removed = term_size(chars_of(cur[x]), dims) + term_size(chars_of(cur[y]), dims) - new_size;
      int64_t cost = flops(both, both.size() > keep.size(), 2, dims);
      if (cost_so_far + cost > plan.naive_cost) return;
      cands.push_back({removed, cost, std::move(keep), int(both.size()), x, y});
    };
    auto disjoint = [&](int x, int y) {
      for (char c : cur[x])
        if (cur[y].find(c) != std::string::npos) return false;
      return true;
    };
    for (auto [x, y] : pairs)
      if (!disjoint(x, y)) consider(x, y);
    if (cands.empty())
      for (auto [x, y] : pairs) consider(x, y);  // outer products as a last resort
    if (cands.empty()) {
      std::vector<int> pos(cur.size());
      std::iota(pos.begin(), pos.end(), 0);
      std::set<char> idx;
      for (auto& t : cur) idx.insert(t.begin(), t.end());
      bool in2 = std::any_of(idx.begin(), idx.end(), [&](char c) { return !out_set.count(c); });
      cost_so_far += flops(idx, in2, int(cur.size()), dims);
      scaling = std::max(scaling, int(idx.size()));
      plan.steps.push_back({cur, output, pos});
      cur = {output};
      break;
    }
    auto best_it = std::min_element(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
      return a.removed > b.removed || (a.removed == b.removed && a.cost < b.cost);
    });
    Cand best = *best_it;
    scaling = std::max(scaling, best.ndims);
    // Intermediate axes ordered by size (then letter).
    std::string out_str(best.out.begin(), best.out.end());
    std::stable_sort(out_str.begin(), out_str.end(),
                     [&](char a, char b) { return dims.at(a) < dims.at(b); });
    plan.steps.push_back({{cur[best.x], cur[best.y]}, out_str, {best.x, best.y}});
    cur.erase(cur.begin() + best.y);
    cur.erase(cur.begin() + best.x);
    cur.push_back(out_str);
    std::vector<Cand> kept;
    for (auto& c : cands) {
      if (c.x == best.x || c.x == best.y || c.y == best.x || c.y == best.y) continue;
      c.x -= (c.x > best.x) + (c.x > best.y);
      c.y -= (c.y > best.x) + (c.y > best.y);
      kept.push_back(std::move(c));
    }
    cands = std::move(kept);
    pairs.clear();
    for (int i = 0; i + 1 < int(cur.size()); ++i) pairs.push_back({i, int(cur.size()) - 1});
    cost_so_far += best.cost;
  }
  plan.steps.back().out = output;
  plan.opt_cost = cost_so_far;
  plan.opt_scaling = scaling;
  return plan;
}

// Takes the diagonal over every repeated letter: "ii" -> "i".
array take_diagonals(array x, std::string& t, Stream st) {
  while (true) {
    char rep = 0;
    for (char c : t)
      if (std::count(t.begin(), t.end(), c) > 1) {
        rep = c;
        break;
      }
    if (!rep) return x;
    std::vector<int> axes;
    for (int i = 0; i < int(t.size()); ++i)
      if (t[i] == rep) axes.push_back(i);
    int64_t n = x.shape(axes[0]);
    array idx = arange(0, double(n), 1, int32, st);
    Shape slice_sizes = x.shape();
    for (int a : axes) slice_sizes[a] = 1;
    // gather: (n, x dims with 1 on the repeated axes) -> drop those axes.
    array g = gather(x, std::vector<array>(axes.size(), idx), axes, slice_sizes, st);
    std::vector<int> sq;
    for (int a : axes) sq.push_back(a + 1);
    x = squeeze(g, sq, st);
    std::string nt(1, rep);
    for (char c : t)
      if (c != rep) nt += c;
    t = nt;
  }
}

// Operands aligned to the letter order `order` (missing letters as size 1).
array align(const array& x, const std::string& t, const std::string& order, Stream st) {
  std::vector<int> perm;
  Shape shape;
  for (char c : order) {
    auto p = t.find(c);
    if (p != std::string::npos) perm.push_back(int(p));
  }
  array y = transpose(x, perm, st);
  for (char c : order) shape.push_back(t.find(c) != std::string::npos ? x.shape(int(t.find(c))) : 1);
  return reshape(y, shape, st);
}

array permute_to(const array& x, const std::string& have, const std::string& want, Stream st) {
  std::vector<int> perm;
  for (char c : want) perm.push_back(int(have.find(c)));
  return transpose(x, perm, st);
}

array run_step(std::vector<array> xs, std::vector<std::string> ts, const std::string& out,
               Stream st) {
  for (size_t k = 0; k < xs.size(); ++k) xs[k] = take_diagonals(xs[k], ts[k], st);
  // Sum letters that only one operand has and the result does not keep.
  for (size_t k = 0; k < xs.size(); ++k) {
    std::vector<int> axes;
    std::string keep;
    for (int i = 0; i < int(ts[k].size()); ++i) {
      char c = ts[k][i];
      bool elsewhere = out.find(c) != std::string::npos;
      for (size_t j = 0; j < ts.size() && !elsewhere; ++j)
        if (j != k && ts[j].find(c) != std::string::npos) elsewhere = true;
      if (elsewhere) keep += c;
      else axes.push_back(i);
    }
    if (!axes.empty()) {
      xs[k] = sum(xs[k], axes, false, st);
      ts[k] = keep;
    }
  }
  if (xs.size() == 2) {
    const std::string &ta = ts[0], &tb = ts[1];
    std::string batch, contract, fa, fb;
    for (char c : ta) {
      bool in_b = tb.find(c) != std::string::npos, in_o = out.find(c) != std::string::npos;
      if (in_b && in_o) batch += c;
      else if (in_b) contract += c;
      else fa += c;
    }
    for (char c : tb)
      if (ta.find(c) == std::string::npos) fb += c;
    if (!contract.empty()) {
      // Sizes of this pair alone (size-1 axes broadcast against the other operand).
      Dims local;
      for (int k = 0; k < 2; ++k)
        for (int i = 0; i < int(ts[k].size()); ++i) {
          int64_t d = xs[k].shape(i);
          auto [it, fresh] = local.insert({ts[k][i], d});
          if (!fresh) it->second = std::max(it->second, d);
        }
      auto as_matrix = [&](const array& x, const std::string& t, const std::string& mid,
                              const std::string& last) {
        std::string order = batch + mid + last;
        array y = permute_to(x, t, order, st);
        Shape full;
        for (char c : order) full.push_back(local.at(c));
        y = broadcast_to(y, full, st);
        Shape sh;
        for (char c : batch) sh.push_back(local.at(c));
        sh.push_back(term_size(mid, local));
        sh.push_back(term_size(last, local));
        return reshape(y, sh, st);
      };
      array a = as_matrix(xs[0], ta, fa, contract);
      array b = as_matrix(xs[1], tb, contract, fb);
      array r = matmul(a, b, st);
      Shape rs;
      for (char c : batch + fa + fb) rs.push_back(local.at(c));
      r = reshape(r, rs, st);
      return permute_to(r, batch + fa + fb, out, st);
    }
  }
  // Broadcast product of all operands, then sum what the result drops.
  std::string order;
  for (auto& t : ts)
    for (char c : t)
      if (order.find(c) == std::string::npos) order += c;
  array r = align(xs[0], ts[0], order, st);
  for (size_t k = 1; k < xs.size(); ++k) r = multiply(r, align(xs[k], ts[k], order, st), st);
  std::vector<int> axes;
  std::string kept;
  for (int i = 0; i < int(order.size()); ++i) {
    if (out.find(order[i]) == std::string::npos) axes.push_back(i);
    else kept += order[i];
  }
  if (!axes.empty()) r = sum(r, axes, false, st);
  return permute_to(r, kept, out, st);
}

}  // namespace

std::pair<std::vector<std::vector<int>>, std::string> einsum_path(
    const std::string& subscripts, const std::vector<array>& operands) {
  std::vector<std::string> terms;
  std::string output;
  Dims dims;
  Plan plan = make_plan(subscripts, operands, "einsum_path", terms, output, dims);
  std::vector<std::vector<int>> path;
  for (auto& s : plan.steps) path.push_back(s.positions);
  std::string info = msg("  Complete contraction:  ", subscripts, "\n",
                         "         Naive scaling:  ", plan.naive_scaling, "\n",
                         "     Optimized scaling:  ", plan.opt_scaling, "\n",
                         "      Naive FLOP count:  ", plan.naive_cost, "\n",
                         "  Optimized FLOP count:  ", plan.opt_cost, "\n");
  return {path, info};
}

array einsum(const std::string& subscripts, const std::vector<array>& operands, StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<std::string> terms;
  std::string output;
  Dims dims;
  Plan plan = make_plan(subscripts, operands, "einsum", terms, output, dims);
  std::vector<array> cur = operands;
  for (auto& step : plan.steps) {
    std::vector<array> xs;
    for (int p : step.positions) xs.push_back(cur[p]);
    array r = run_step(xs, step.terms, step.out, st);
    for (auto it = step.positions.rbegin(); it != step.positions.rend(); ++it)
      cur.erase(cur.begin() + *it);
    cur.push_back(r);
  }
  return cur.back();
}

}  // namespace oxmlx
