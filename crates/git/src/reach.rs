//! Precomputed ancestry for fast ancestor sums.
//!
//! Commits are numbered in the postorder of a depth-first walk towards the
//! parents (first parent first). The ancestors of a commit then form a few
//! runs ("spans") of consecutive postorder positions: everything finished
//! during the commit's own walk, plus the spans of parents reached earlier.
//! On a history made of a mainline and merged topic branches a mainline
//! commit has one span and a topic commit two, so once the spans are known a
//! sum over every commit's ancestors costs one prefix sum plus one
//! subtraction per span.
//!
//! Graphs whose spans would need too much memory (many long-lived branches
//! merging into each other) fall back to bitsets over blocks of commits,
//! still exact, in O(n²/64) time per call and O(n) memory.

/// At most this many spans per commit (plus a constant) before falling back.
const SPANS_PER_COMMIT: usize = 64;
/// Columns (commits) per bitset block in the fallback: 16 words.
const BLOCK_WORDS: usize = 16;

/// Ancestry index of one graph.
#[derive(Debug, Clone)]
pub(crate) enum Reach {
    /// Spans of postorder positions.
    Spans(Spans),
    /// No index: bitsets are computed per call.
    Blocks,
}

/// The span index.
#[derive(Debug, Clone)]
pub(crate) struct Spans {
    /// Commit at each postorder position.
    order: Vec<u32>,
    /// `spans[starts[pos]..starts[pos + 1]]` are the spans of position `pos`.
    starts: Vec<u32>,
    /// Half-open ranges of postorder positions.
    spans: Vec<(u32, u32)>,
}

impl Reach {
    /// Builds the index for a topologically numbered graph.
    pub(crate) fn new(parents: &[Vec<u32>]) -> Reach {
        Self::with_budget(parents, SPANS_PER_COMMIT * parents.len() + 65_536)
    }

    /// Builds the span index unless it needs more than `budget` spans.
    pub(crate) fn with_budget(parents: &[Vec<u32>], budget: usize) -> Reach {
        Spans::build(parents, budget).map_or(Reach::Blocks, Reach::Spans)
    }

    /// For every commit, the sum of `weights` over it and its ancestors.
    pub(crate) fn sums_f64(&self, parents: &[Vec<u32>], weights: &[f64]) -> Vec<f64> {
        match self {
            Reach::Spans(s) => s.sums_f64(weights),
            Reach::Blocks => block_sums(parents, weights),
        }
    }

    /// For every commit, how many ancestors (itself included) are marked.
    pub(crate) fn counts(&self, parents: &[Vec<u32>], marked: &[bool]) -> Vec<u32> {
        match self {
            Reach::Spans(s) => s.counts(marked),
            Reach::Blocks => {
                let ones: Vec<f64> = marked.iter().map(|&m| f64::from(u8::from(m))).collect();
                // Counts up to 2^53 are exact in f64.
                block_sums(parents, &ones)
                    .iter()
                    .map(|&c| c as u32)
                    .collect()
            }
        }
    }
}

impl Spans {
    fn build(parents: &[Vec<u32>], budget: usize) -> Option<Spans> {
        let n = parents.len();
        let mut visited = vec![false; n];
        let mut enter = vec![0u32; n];
        let mut position = vec![0u32; n];
        let mut index = Spans {
            order: Vec::with_capacity(n),
            starts: vec![0],
            spans: Vec::with_capacity(n),
        };
        let mut stack: Vec<(u32, usize)> = Vec::new();
        let mut scratch: Vec<(u32, u32)> = Vec::new();
        // Start from the newest commits so that tips are roots of the walk.
        for root in (0..n as u32).rev() {
            if visited[root as usize] {
                continue;
            }
            visited[root as usize] = true;
            enter[root as usize] = index.order.len() as u32;
            stack.push((root, 0));
            while let Some(top) = stack.last_mut() {
                let (c, next) = *top;
                if let Some(&p) = parents[c as usize].get(next) {
                    top.1 += 1;
                    if !visited[p as usize] {
                        visited[p as usize] = true;
                        enter[p as usize] = index.order.len() as u32;
                        stack.push((p, 0));
                    }
                    continue;
                }
                stack.pop();
                let pos = index.order.len() as u32;
                position[c as usize] = pos;
                index.order.push(c);
                scratch.clear();
                scratch.push((enter[c as usize], pos + 1));
                for &p in &parents[c as usize] {
                    scratch.extend_from_slice(index.spans_at(position[p as usize]));
                }
                index.push_merged(&mut scratch);
                if index.spans.len() > budget {
                    return None;
                }
            }
        }
        Some(index)
    }

    fn spans_at(&self, pos: u32) -> &[(u32, u32)] {
        let (a, b) = (self.starts[pos as usize], self.starts[pos as usize + 1]);
        &self.spans[a as usize..b as usize]
    }

    /// Appends the union of `ranges` as sorted, disjoint, non-adjacent spans.
    fn push_merged(&mut self, ranges: &mut [(u32, u32)]) {
        ranges.sort_unstable();
        let mut current: Option<(u32, u32)> = None;
        for &(a, b) in ranges.iter() {
            current = match current {
                Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
                Some(span) => {
                    self.spans.push(span);
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        self.spans.extend(current);
        self.starts.push(self.spans.len() as u32);
    }

    fn sums_f64(&self, weights: &[f64]) -> Vec<f64> {
        // Prefix sums kept as two doubles (sum and rounding error) so that a
        // small difference of two large prefixes stays accurate.
        let n = self.order.len();
        let mut hi = Vec::with_capacity(n + 1);
        let mut lo = Vec::with_capacity(n + 1);
        let (mut s, mut e) = (0.0f64, 0.0f64);
        hi.push(s);
        lo.push(e);
        for &c in &self.order {
            let w = weights.get(c as usize).copied().unwrap_or(0.0);
            let t = s + w;
            // Neumaier's compensation: the part of the addition lost to rounding.
            e += if s.abs() >= w.abs() {
                (s - t) + w
            } else {
                (w - t) + s
            };
            s = t;
            hi.push(s);
            lo.push(e);
        }
        let mut out = vec![0.0; n];
        for (pos, &c) in self.order.iter().enumerate() {
            let (mut big, mut small) = (0.0, 0.0);
            for &(a, b) in self.spans_at(pos as u32) {
                big += hi[b as usize] - hi[a as usize];
                small += lo[b as usize] - lo[a as usize];
            }
            out[c as usize] = big + small;
        }
        out
    }

    fn counts(&self, marked: &[bool]) -> Vec<u32> {
        let mut prefix = Vec::with_capacity(self.order.len() + 1);
        let mut total = 0u32;
        prefix.push(0);
        for &c in &self.order {
            total += u32::from(marked.get(c as usize).copied().unwrap_or(false));
            prefix.push(total);
        }
        let mut out = vec![0; self.order.len()];
        for (pos, &c) in self.order.iter().enumerate() {
            out[c as usize] = self
                .spans_at(pos as u32)
                .iter()
                .map(|&(a, b)| prefix[b as usize] - prefix[a as usize])
                .sum();
        }
        out
    }
}

/// Exact ancestor sums with bitsets, one block of columns at a time.
fn block_sums(parents: &[Vec<u32>], weights: &[f64]) -> Vec<f64> {
    let n = parents.len();
    let columns = 64 * BLOCK_WORDS;
    let mut out = vec![0.0; n];
    let mut bits: Vec<u64> = Vec::new();
    let mut table = vec![0.0f64; BLOCK_WORDS * 8 * 256];
    for lo in (0..n).step_by(columns) {
        let hi = (lo + columns).min(n);
        fill_byte_table(
            &weights[lo.min(weights.len())..hi.min(weights.len())],
            &mut table,
        );
        // Row r holds the ancestors of commit lo + r among columns lo..hi;
        // commits before lo have no ancestor in the block.
        bits.clear();
        bits.resize((n - lo) * BLOCK_WORDS, 0);
        for c in lo..n {
            let row = (c - lo) * BLOCK_WORDS;
            for &p in &parents[c] {
                let p = p as usize;
                if p >= lo {
                    let prow = (p - lo) * BLOCK_WORDS;
                    for w in 0..BLOCK_WORDS {
                        bits[row + w] |= bits[prow + w];
                    }
                }
            }
            if c < hi {
                bits[row + (c - lo) / 64] |= 1 << ((c - lo) % 64);
            }
            let words = &bits[row..row + BLOCK_WORDS];
            out[c] += words
                .iter()
                .enumerate()
                .filter(|(_, &word)| word != 0)
                .flat_map(|(w, &word)| {
                    (0..8).map(move |b| (w * 8 + b, ((word >> (8 * b)) & 0xff) as usize))
                })
                .map(|(byte, value)| table[byte * 256 + value])
                .sum::<f64>();
        }
    }
    out
}

/// `table[byte * 256 + v]` = sum of the weights of the columns whose bits
/// are set in `v` at byte `byte` of a block row.
fn fill_byte_table(weights: &[f64], table: &mut [f64]) {
    for byte in 0..BLOCK_WORDS * 8 {
        let base = byte * 256;
        table[base] = 0.0;
        for v in 1..256usize {
            let column = byte * 8 + v.trailing_zeros() as usize;
            let w = weights.get(column).copied().unwrap_or(0.0);
            table[base + v] = table[base + (v & (v - 1))] + w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: a small deterministic generator for random graphs.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u32) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as u32 % n.max(1)
        }
    }

    /// A random DAG: each commit has 0-3 parents among the `window` before it.
    fn random_dag(n: u32, window: u32, seed: u64) -> Vec<Vec<u32>> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                let count = if i == 0 {
                    0
                } else {
                    [1, 1, 1, 2, 2, 3, 0][rng.below(7) as usize]
                };
                let mut ps: Vec<u32> = (0..count)
                    .map(|_| i - 1 - rng.below(window.min(i)))
                    .collect();
                ps.dedup();
                ps
            })
            .collect()
    }

    fn slow_sums(parents: &[Vec<u32>], weights: &[f64]) -> Vec<f64> {
        let n = parents.len();
        (0..n)
            .map(|i| {
                let mut seen = vec![false; n];
                let mut stack = vec![i];
                seen[i] = true;
                let mut sum = 0.0;
                while let Some(c) = stack.pop() {
                    sum += weights[c];
                    for &p in &parents[c] {
                        if !std::mem::replace(&mut seen[p as usize], true) {
                            stack.push(p as usize);
                        }
                    }
                }
                sum
            })
            .collect()
    }

    #[test]
    fn spans_and_blocks_match_the_definition_on_random_graphs() {
        for seed in 1..30u64 {
            let n = 50 + (seed as u32 * 37) % 1500;
            let parents = random_dag(n, 1 + (seed as u32 * 13) % 200, seed);
            let weights: Vec<f64> = (0..n)
                .map(|i| f64::from((i * 7 + seed as u32) % 5))
                .collect();
            let marked: Vec<bool> = weights.iter().map(|&w| w > 2.0).collect();
            let want = slow_sums(&parents, &weights);
            let spans = Reach::new(&parents);
            assert!(matches!(spans, Reach::Spans(_)), "seed {seed}");
            let blocks = Reach::with_budget(&parents, 0);
            assert!(matches!(blocks, Reach::Blocks));
            for reach in [&spans, &blocks] {
                assert_eq!(reach.sums_f64(&parents, &weights), want, "seed {seed}");
                let ones: Vec<f64> = marked.iter().map(|&m| f64::from(u8::from(m))).collect();
                let counts: Vec<f64> = reach
                    .counts(&parents, &marked)
                    .iter()
                    .map(|&c| f64::from(c))
                    .collect();
                assert_eq!(counts, slow_sums(&parents, &ones), "seed {seed}");
            }
        }
    }

    #[test]
    fn small_differences_of_large_sums_stay_accurate() {
        // A long chain with a tiny weight at the bottom and huge ones above.
        let n = 1000u32;
        let parents: Vec<Vec<u32>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let mut weights = vec![1e-18; n as usize];
        weights[500] = 1.0;
        let sums = Reach::new(&parents).sums_f64(&parents, &weights);
        assert!((sums[499] - 500e-18).abs() < 1e-27, "{}", sums[499]);
        assert!((sums[999] - (1.0 + 999e-18)).abs() < 1e-15);
    }

    #[test]
    fn mainline_with_topics_needs_few_spans() {
        // Mainline commits 3k; topic of two commits forks from the previous
        // mainline commit and is merged by the next one.
        let mut parents: Vec<Vec<u32>> = vec![vec![]];
        for _ in 0..500 {
            let base = parents.len() as u32 - 1;
            parents.push(vec![base]);
            parents.push(vec![base + 1]);
            parents.push(vec![base, base + 2]);
        }
        let Reach::Spans(spans) = Reach::new(&parents) else {
            panic!("fell back")
        };
        assert!(
            spans.spans.len() <= 2 * parents.len(),
            "{}",
            spans.spans.len()
        );
    }
}
