/** The lab's public surface: the Lab class, its description types and the tool runner's error. */
export { Lab, NEED_ROOT, type SpawnOptions } from './topology.js';
export { LINE, PAIR, type HostSpec, type LabEnd, type LabLink, type LabSpec, type LinkSpec } from './plan.js';
export { LabCommandError, type RunOptions, type RunResult } from './exec.js';
export { SLUICE_START_TIMEOUT_MS, SluiceProcess, sluiceArgv } from './sluice.js';
export * from './traffic/index.js';
export { addBottleneck, removeBottleneck, type BottleneckOptions } from './bottleneck.js';
