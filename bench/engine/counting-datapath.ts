/** The engine's other side at no cost, for benchmarks: verdicts are counted, nothing else. */
import type { Datapath } from '../../src/datapath/types.js';

export class CountingDatapath implements Datapath {
  accepted = 0;
  dropped = 0;
  accept(): void {
    this.accepted++;
  }
  acceptRewritten(): void {
    this.accepted++;
  }
  drop(): void {
    this.dropped++;
  }
  flush(): void {}
}
