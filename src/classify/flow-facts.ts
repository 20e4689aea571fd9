/**
 * Attributes from what sluice learns about a flow beyond its packets: the process that owns its
 * socket (looked up by src/host), the country of its remote address (geo/), and its application
 * protocol (l7/). All are flow scope: a rule using them is evaluated when the flow is classified
 * and its result cached, and the engine computes a fact only when some rule of the configuration
 * reads it (the name sets below say which attributes need which fact).
 *
 * A fact may be missing, and then every comparison on it is false (attributes.ts `present`):
 * - process attributes of a flow without a local socket (forwarded traffic) — rules on them simply
 *   do not match it. A local socket whose process was not found has its uid and user, and -1 or
 *   'unknown' for the rest; such a flow is never dropped for it.
 * - `l7`, `l7.host` and `flow.entropy` until the flow's protocol is decided; `l7 == "pending"` tests
 *   that state. A flow is classified again when its protocol is decided and when its owner is found
 *   (see the engine), so a rule on them takes effect from the packet that decided them on.
 */
import type { AttributeRegistry, EnumAttribute, NumberAttribute, StringAttribute } from './attributes.js';
import type { MatchContext } from './context.js';
import { L7_PENDING_CODE } from './context.js';

/** `l7` values and their codes; 'pending' is L7_PENDING_CODE. */
export const L7_NAMES: readonly string[] = ['pending', 'unknown', 'http', 'tls', 'quic', 'ssh', 'dns', 'bittorrent', 'stun', 'rtp'];
const L7_CODES: ReadonlyMap<string, number> = new Map(L7_NAMES.map((name, code) => [name, code]));

/** The `l7` code of a protocol name from the detector (unknown names count as 'unknown'). */
export function l7Code(protocol: string): number {
  return L7_CODES.get(protocol) ?? 1;
}

/** Attributes read from the flow's owner; those the kernel's uid/gid alone can answer. */
export const OWNER_ATTRIBUTES: ReadonlySet<string> = new Set(['uid', 'gid', 'user', 'group', 'pid', 'cmd', 'exe', 'args', 'cgroup', 'unit']);
export const KERNEL_OWNER_ATTRIBUTES: ReadonlySet<string> = new Set(['uid', 'gid', 'user', 'group']);
export const L7_ATTRIBUTES: ReadonlySet<string> = new Set(['l7', 'l7.host', 'flow.entropy']);
export const GEO_ATTRIBUTES: ReadonlySet<string> = new Set(['cc', 'country']);

const hasOwner = (c: MatchContext): boolean => c.owner.found;
const l7Decided = (c: MatchContext): boolean => c.l7Code !== L7_PENDING_CODE;

function ownerNumber(name: string, description: string, read: (c: MatchContext) => number): NumberAttribute {
  return { name, type: 'number', scope: 'flow', unit: null, description, read, present: hasOwner };
}

function ownerString(name: string, description: string, read: (c: MatchContext) => string): StringAttribute {
  return { name, type: 'string', scope: 'flow', description, read, present: hasOwner };
}

const COUNTRY_CODE = /^[A-Z]{2}$/;

/** Registers the process, country and layer-7 attributes. */
export function registerFlowFacts(r: AttributeRegistry): AttributeRegistry {
  r.register(ownerNumber('uid', "owning user's id (-1: socket without a process found)", (c) => c.owner.uid));
  r.register(ownerNumber('gid', "owning process's group id", (c) => c.owner.gid));
  r.register(ownerNumber('pid', 'owning process id', (c) => c.owner.pid));
  r.register(ownerString('user', 'owning user name', (c) => c.owner.user));
  r.register(ownerString('group', "owning process's group name", (c) => c.owner.group));
  r.register(ownerString('cmd', "owning program: base name of argv[0] ('unknown' when the process was not found)", (c) => c.owner.cmd));
  r.register(ownerString('exe', "owning program's executable, resolved path", (c) => c.owner.exe));
  r.register(ownerString('args', "owning program's command line, arguments joined by spaces", (c) => c.owner.args));
  r.register(ownerString('cgroup', "owning process's cgroup v2 path", (c) => c.owner.cgroup));
  r.register(ownerString('unit', "owning process's systemd unit (e.g. transmission-daemon.service)", (c) => c.owner.unit));

  const cc: StringAttribute = {
    name: 'cc',
    type: 'string',
    scope: 'flow',
    description: 'country of the remote address, ISO 3166 code; "--" private or local, "??" not in the database',
    read: (c) => c.cc,
    canonical: (v) => {
      const up = v.toUpperCase();
      return COUNTRY_CODE.test(up) || up === '--' || up === '??' ? up : null;
    },
    expects: 'a two-letter country code such as "SK", or "--" (private or local)',
  };
  r.register(cc);
  r.register({ name: 'country', type: 'string', scope: 'flow', description: 'country of the remote address, English name', read: (c) => c.country });

  const l7: EnumAttribute = {
    name: 'l7',
    type: 'enum',
    scope: 'flow',
    values: new Map(L7_CODES),
    numeric: false,
    description: `application protocol from the first payload bytes: ${L7_NAMES.join(', ')}`,
    read: (c) => c.l7Code,
    present: l7Decided,
    absentName: 'pending',
  };
  r.register(l7);
  r.register({
    name: 'l7.host',
    type: 'string',
    scope: 'flow',
    description: 'HTTP Host or TLS/QUIC server name, lower case ("" when none)',
    read: (c) => c.l7Host,
    present: l7Decided,
    canonical: (v) => v.toLowerCase(),
  });
  r.register({
    name: 'flow.entropy',
    type: 'number',
    scope: 'flow',
    unit: null,
    description: "Shannon entropy of the flow's first payload bytes, bits per byte (0..8; near 8: encrypted or compressed)",
    read: (c) => c.entropyBits,
    present: l7Decided,
  });
  return r;
}
