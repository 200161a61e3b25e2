//! The one worker pool: a few scoped threads taking items by index, results kept in input order.
//! Used where independent slow steps (hashing package trees, fetching index files, locking
//! packages) would otherwise run one after another.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads work on `items` items: at most `max`, at least one, never more than items.
fn workers(items: usize, max: usize) -> usize {
    max.max(1).min(items.max(1))
}

/// The default thread count for CPU-bound work: the machine's parallelism, at most `cap`.
pub fn cpu_workers(cap: usize) -> usize {
    if cap <= 1 {
        // asking costs a few file reads (cgroup quotas): skip it when the answer cannot matter
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, cap.max(1))
}

/// `f` applied to every item on up to `max_workers` threads; the results in the order of `items`.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    max_workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    match try_map(items, max_workers, |item| {
        Ok::<R, std::convert::Infallible>(f(item))
    }) {
        Ok(out) => out,
        Err(never) => match never {},
    }
}

/// Like [`map`] for fallible work: after the first error no worker takes a new item, and the
/// error of the lowest index that failed is returned.
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    max_workers: usize,
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    // one worker: no thread at all (a spawn costs more than hashing one small input)
    if workers(items.len(), max_workers) == 1 {
        return items.iter().map(&f).collect();
    }
    let slots: Vec<Mutex<Option<Result<R, E>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers(items.len(), max_workers) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if r.is_err() {
                    next.store(items.len(), Ordering::Relaxed);
                }
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    let mut out = Vec::with_capacity(items.len());
    // an empty slot was never taken: an earlier item failed, and its error comes first
    for r in slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
    {
        out.push(r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            map(&items, 4, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert_eq!(map(&[] as &[u32], 4, |x| *x), Vec::<u32>::new());
    }

    #[test]
    fn the_first_failure_is_returned() {
        let items: Vec<u32> = (0..50).collect();
        let r = try_map(&items, 3, |x| if *x == 7 { Err(*x) } else { Ok(*x) });
        assert_eq!(r, Err(7));
        assert_eq!(try_map(&items, 3, |x| Ok::<_, ()>(*x)).unwrap().len(), 50);
    }
}
