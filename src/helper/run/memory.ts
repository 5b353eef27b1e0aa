import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Long enough after a write for what it replaced to be unreferenced (its carry, the writer's last set). */
const DELAY_MS = 2_000;
/** Heap (with the external memory it accounts for) this far above its level at rest counts as left over. */
const GROWTH_BYTES = 8 * 1024 * 1024;

let gc: (() => void) | undefined;

/**
 * A daemon allocates little, in bursts (one update's parsing and rendering), yet under back-to-back
 * rotations V8 grows the young generation up to 64 MB and keeps it: resident memory that only looks
 * like a leak. Held at the size it has, the daemon stays flat (BENCHMARKS.md). V8 reads this flag
 * each time it would grow the space. Set here, not for every run: held from the start, a one-shot
 * run takes 15 ms more CPU in collections.
 */
export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** V8's default back, as the daemon stops: its flags end as they began, so the code cache it leaves is keyed as the next start expects. */
export function releaseYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=2');
}

/**
 * One full, synchronous garbage collection. V8 exposes its collector only under --expose-gc, which
 * no command line of ours carries: the flag is set just long enough to take the function, then
 * unset, so V8's flags (on which the launcher's code cache is keyed) end as they began.
 */
function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
  }
  gc();
}

const heapBytes = (): number => {
  const heap = getHeapStatistics();
  return heap.total_heap_size + heap.external_memory;
};

/**
 * A daemon at rest allocates almost nothing, so V8 seldom collects, and what one large update (a
 * bundle of thousands of CAs) left behind would stay on the heap. The heap's size after the first
 * write is its level at rest; a write that finds it well above that level (the large update's
 * arrival, then its replacement) is followed by one full collection. Not after the first write
 * itself: that measured 2 MB more resident at rest, not less (BENCHMARKS.md).
 */
export class Collector {
  #atRest: number | undefined;
  #pending: NodeJS.Timeout | undefined;

  afterWrite(): void {
    if (this.#pending !== undefined) return;
    if (this.#atRest === undefined) {
      this.#atRest = heapBytes();
      return;
    }
    if (heapBytes() < this.#atRest + GROWTH_BYTES) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      collectGarbage();
    }, DELAY_MS).unref();
  }
}
