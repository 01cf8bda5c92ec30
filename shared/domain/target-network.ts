import { BlockList, isIP } from 'node:net';
import * as z from 'zod/mini';

/**
 * Address classes a deployment may open to `http` targets (setting `allowedTargetNetworks`). Public
 * addresses are always allowed; everything else is refused whatever the setting says.
 */
export const TARGET_NETWORKS = ['loopback', 'private'] as const;
export const TargetNetworkSchema = z.enum(TARGET_NETWORKS);
export type TargetNetwork = z.infer<typeof TargetNetworkSchema>;

/** Where an address points, for the purpose of deciding whether a target may be called there. */
export type AddressClass =
  | 'public'
  | TargetNetwork
  | 'metadata'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

/** The name of the setting, in `infra/aws/config.ts` and in the local `jobs.config.json` alike. */
export const TARGET_NETWORKS_SETTING = 'allowedTargetNetworks';

type Ranges = ReadonlyArray<readonly [network: string, prefix: number]>;

function blockList(family: 'ipv4' | 'ipv6', ranges: Ranges): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

/**
 * Instance metadata and other platform endpoints reachable from inside a cloud network. Most sit in
 * ranges refused anyway (169.254/16); they are named so the refusal says what they are, and because some
 * sit in ranges a deployment may open (100.100.100.200 in CGNAT, fd00:ec2:: in fc00::/7) or in public space
 * (Azure's 168.63.129.16).
 */
const METADATA_V4 = blockList('ipv4', [
  ['169.254.169.254', 32], // AWS, GCP, Azure, OpenStack, DigitalOcean… instance metadata
  ['169.254.169.253', 32], // AWS VPC DNS resolver
  ['169.254.169.123', 32], // AWS time sync
  ['169.254.170.2', 32], // AWS ECS task metadata and credentials
  ['169.254.170.23', 32], // AWS EKS pod identity agent
  ['100.100.100.200', 32], // Alibaba Cloud metadata
  ['168.63.129.16', 32], // Azure wire server
  ['192.0.0.192', 32], // Oracle Cloud metadata
]);
const METADATA_V6 = blockList('ipv6', [
  ['fd00:ec2::254', 128], // AWS instance metadata (IPv6)
  ['fd00:ec2::253', 128], // AWS VPC DNS resolver (IPv6)
  ['fd00:ec2::123', 128], // AWS time sync (IPv6)
  ['fd00:ec2::23', 128], // AWS EKS pod identity agent (IPv6)
]);

/** IPv4 classes in the order they are tested (the metadata list comes first). */
const V4_CLASSES: ReadonlyArray<readonly [AddressClass, BlockList]> = [
  ['unspecified', blockList('ipv4', [['0.0.0.0', 8]])],
  ['loopback', blockList('ipv4', [['127.0.0.0', 8]])],
  ['link-local', blockList('ipv4', [['169.254.0.0', 16]])],
  [
    'private',
    blockList('ipv4', [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['100.64.0.0', 10], // carrier-grade NAT, used inside some clouds' networks
    ]),
  ],
  ['multicast', blockList('ipv4', [['224.0.0.0', 4]])],
  ['broadcast', blockList('ipv4', [['255.255.255.255', 32]])],
  [
    'reserved',
    blockList('ipv4', [
      ['240.0.0.0', 4], // reserved for future use
      ['192.0.0.0', 24], // IETF protocol assignments
      ['192.0.2.0', 24], // documentation (TEST-NET-1)
      ['198.51.100.0', 24], // documentation (TEST-NET-2)
      ['203.0.113.0', 24], // documentation (TEST-NET-3)
      ['198.18.0.0', 15], // benchmarking
      ['192.88.99.0', 24], // former 6to4 relay anycast
    ]),
  ],
];

/** IPv6 classes after the special forms (::, ::1, embedded IPv4) are handled. */
const V6_CLASSES: ReadonlyArray<readonly [AddressClass, BlockList]> = [
  ['link-local', blockList('ipv6', [['fe80::', 10]])],
  [
    'private',
    blockList('ipv6', [
      ['fc00::', 7], // unique local addresses
      ['fec0::', 10], // deprecated site-local addresses
    ]),
  ],
  ['multicast', blockList('ipv6', [['ff00::', 8]])],
  [
    'reserved',
    blockList('ipv6', [
      ['100::', 64], // discard-only
      ['2001::', 23], // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
      ['2001:db8::', 32], // documentation
      ['3fff::', 20], // documentation
    ]),
  ],
];

/** Only 2000::/3 is global unicast; anything else left unclassified is unassigned space. */
const GLOBAL_UNICAST_V6 = blockList('ipv6', [['2000::', 3]]);

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part included). */
function ipv6Groups(address: string): number[] {
  // "::ffff:1.2.3.4" → "::ffff:102:304": the dotted tail is two groups.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_match, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((group) => group.toString(16)).join(':'),
  );
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const [head = '', tail] = text.split('::');
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function ipv4FromGroups(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one: IPv4-mapped
 * (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), the NAT64
 * well-known prefix (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`). Any of them may reach the IPv4
 * address through the OS, a translator or a relay, so they are judged as that address.
 */
function embeddedIpv4(groups: readonly number[]): string | null {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zeroTo = (count: number) => groups.slice(0, count).every((group) => group === 0);
  if (zeroTo(5) && g5 === 0xffff) return ipv4FromGroups(g6, g7);
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return ipv4FromGroups(g6, g7);
  if (zeroTo(6)) return ipv4FromGroups(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return ipv4FromGroups(g6, g7);
  }
  if (g0 === 0x2002) return ipv4FromGroups(g1 ?? 0, g2 ?? 0);
  return null;
}

function classifyIpv4(address: string): AddressClass {
  if (METADATA_V4.check(address, 'ipv4')) return 'metadata';
  for (const [addressClass, list] of V4_CLASSES) {
    if (list.check(address, 'ipv4')) return addressClass;
  }
  return 'public';
}

function classifyIpv6(address: string): AddressClass {
  const groups = ipv6Groups(address);
  if (groups.every((group) => group === 0)) return 'unspecified';
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return 'loopback';
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== null) return classifyIpv4(ipv4);
  if (METADATA_V6.check(address, 'ipv6')) return 'metadata';
  for (const [addressClass, list] of V6_CLASSES) {
    if (list.check(address, 'ipv6')) return addressClass;
  }
  return GLOBAL_UNICAST_V6.check(address, 'ipv6') ? 'public' : 'reserved';
}

/**
 * The class of an IP address (IPv4 dotted quad or IPv6, with or without brackets or a `%zone`), or null
 * when the text is not an IP address. Odd IPv4 notations (`2130706433`, `0x7f.1`, `0177.0.0.1`) are not
 * addresses here: URLs are normalised by the WHATWG parser first, which turns them into dotted quads.
 */
export function classifyAddress(address: string): AddressClass | null {
  let bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = bare.indexOf('%');
  if (zone >= 0) bare = bare.slice(0, zone);
  const family = isIP(bare);
  if (family === 4) return classifyIpv4(bare);
  if (family === 6) return classifyIpv6(bare.toLowerCase());
  return null;
}

const DESCRIPTIONS: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  metadata: 'a cloud metadata address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

export function isTargetNetwork(addressClass: AddressClass): addressClass is TargetNetwork {
  return (TARGET_NETWORKS as readonly string[]).includes(addressClass);
}

/** Whether an `http` target may be called at an address of this class. */
export function isAllowedAddressClass(
  addressClass: AddressClass,
  allowedNetworks: readonly TargetNetwork[],
): boolean {
  return (
    addressClass === 'public' || (isTargetNetwork(addressClass) && allowedNetworks.includes(addressClass))
  );
}

/** A refused address: what it is and why it is refused. */
export interface AddressRefusal {
  address: string;
  addressClass: AddressClass;
  /** `127.0.0.1, a loopback address, which this deployment does not allow (…)`: reads after "at" or "to". */
  reason: string;
}

/**
 * Checks one IP address against the deployment's allowed networks: null when an `http` target may be
 * called there, else the refusal. Text that is not an IP address is refused as reserved (callers pass
 * only addresses: URL hosts that are IP literals, or what a name resolved to).
 */
export function refuseAddress(
  address: string,
  allowedNetworks: readonly TargetNetwork[],
): AddressRefusal | null {
  const addressClass = classifyAddress(address) ?? 'reserved';
  if (isAllowedAddressClass(addressClass, allowedNetworks)) return null;
  const rule = isTargetNetwork(addressClass)
    ? `which this deployment does not allow (its ${TARGET_NETWORKS_SETTING} setting does not include "${addressClass}")`
    : 'which http targets may never reach';
  return { address, addressClass, reason: `${address}, ${DESCRIPTIONS[addressClass]}, ${rule}` };
}

/**
 * The host of an http(s) URL as an IP address, or null when it is a name (which only DNS can judge).
 * The WHATWG parser has already turned `http://2130706433/`, `http://0x7f.1/` and `http://[::ffff:7f00:1]/`
 * into `127.0.0.1` and `[::ffff:7f00:1]`, so every IPv4 notation arrives here as a dotted quad.
 */
export function ipLiteralHost(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? null : host;
}

/** Which addresses `http` targets may reach, in words ("public and loopback addresses"), for banners. */
export function describeAllowedNetworks(allowedNetworks: readonly TargetNetwork[]): string {
  const opened = TARGET_NETWORKS.filter((network) => allowedNetworks.includes(network));
  if (opened.length === 0) return 'public addresses only';
  const classes = ['public', ...opened];
  return `${classes.slice(0, -1).join(', ')} and ${classes.at(-1)} addresses`;
}
