/**
 * A reusable list of matches: [start, end) byte offsets and the index of the detector that found them. Kept as
 * one Int32Array that grows by doubling, so scanning clean values allocates nothing.
 */
export class SpanList {
  #data = new Int32Array(48);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  reset(): void {
    this.#length = 0;
  }

  add(start: number, end: number, detector: number): void {
    const at = this.#length * 3;
    if (at + 3 > this.#data.length) {
      const bigger = new Int32Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[at] = start;
    this.#data[at + 1] = end;
    this.#data[at + 2] = detector;
    this.#length++;
  }

  start(i: number): number {
    return this.#data[i * 3]!;
  }

  end(i: number): number {
    return this.#data[i * 3 + 1]!;
  }

  detector(i: number): number {
    return this.#data[i * 3 + 2]!;
  }

  /** Sorts by start (then longest first); the lists are short, so insertion sort. */
  sort(): void {
    const d = this.#data;
    for (let i = 1; i < this.#length; i++) {
      const s = d[i * 3]!;
      const e = d[i * 3 + 1]!;
      const k = d[i * 3 + 2]!;
      let j = i - 1;
      while (j >= 0 && (d[j * 3]! > s || (d[j * 3]! === s && d[j * 3 + 1]! < e))) {
        d[(j + 1) * 3] = d[j * 3]!;
        d[(j + 1) * 3 + 1] = d[j * 3 + 1]!;
        d[(j + 1) * 3 + 2] = d[j * 3 + 2]!;
        j--;
      }
      d[(j + 1) * 3] = s;
      d[(j + 1) * 3 + 1] = e;
      d[(j + 1) * 3 + 2] = k;
    }
  }
}
