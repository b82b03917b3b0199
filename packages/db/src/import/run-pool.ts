/**
 * Runs worker over items with at most `concurrency` in flight. Workers handle their own per-item
 * failures; an error that escapes one is fatal: nothing new starts, in-flight items finish, and the
 * first such error is rethrown.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async () => {
    while (!failed && !shouldStop() && next < items.length) {
      const item = items[next++]!;
      try {
        await worker(item);
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failed) throw failure;
}
