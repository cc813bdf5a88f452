/** A list you can await items from: responses a peer received, requests an endpoint got. */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly waiters: Array<{ pred: (t: T) => boolean; resolve: (t: T) => void; from: number }> = [];

  push(item: T): void {
    this.items.push(item);
    const idx = this.items.length - 1;
    for (const w of [...this.waiters]) {
      if (idx >= w.from && w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  /** The first item (already received, or the next to arrive) matching `pred`. */
  wait(pred: (t: T) => boolean = () => true, timeoutMs = 5000, from = 0, what = 'item'): Promise<T> {
    const found = this.items.slice(from).find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const w = {
        pred,
        from,
        resolve: (x: T) => {
          clearTimeout(t);
          resolve(x);
        },
      };
      this.waiters.push(w);
    });
  }
}
