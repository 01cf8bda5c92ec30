import { describe, expect, it } from 'vitest';
import {
  type AddressClass,
  classifyAddress,
  describeAllowedNetworks,
  ipLiteralHost,
  refuseAddress,
} from '../../shared/domain/target-network.js';

describe('classifyAddress', () => {
  it.each<[string, AddressClass]>([
    // IPv4
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['169.254.0.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['FE80::ABCD', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    // IPv6 forms that carry an IPv4 address are judged as that address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'metadata'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['2002:0808:0808::1', 'public'],
  ])('%s is %s', (address, expected) => {
    // Act
    const actual = classifyAddress(address);

    // Assess
    expect(actual).toBe(expected);
  });

  it.each(['localhost', 'example.com', '2130706433', '0x7f.1', '127.1', '', '1.2.3.4.5', '::ffff:999.0.0.1'])(
    'says %j is not an IP address',
    (text) => {
      // Act
      const actual = classifyAddress(text);

      // Assess
      expect(actual).toBeNull();
    },
  );
});

describe('ipLiteralHost', () => {
  it.each([
    ['http://127.0.0.1:8080/run', '127.0.0.1'],
    // Decimal, hexadecimal, octal and short IPv4 forms: the WHATWG parser turns them into dotted quads.
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://[::1]:3000/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://2852039166/latest/meta-data/', '169.254.169.254'],
  ])('finds the address in %s', (url, expected) => {
    // Act
    const host = ipLiteralHost(new URL(url));

    // Assess
    expect(host).toBe(expected);
  });

  it.each(['http://localhost/', 'https://agent.example.com/run', 'http://127.0.0.1.nip.io/'])(
    'leaves the name of %s to DNS',
    (url) => {
      // Act
      const host = ipLiteralHost(new URL(url));

      // Assess
      expect(host).toBeNull();
    },
  );

  it.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://2852039166/', 'metadata'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
  ])('classifies the host of %s as %s', (url, expected) => {
    // Act
    const host = ipLiteralHost(new URL(url));

    // Assess
    expect(host === null ? null : classifyAddress(host)).toBe(expected);
  });
});

describe('refuseAddress', () => {
  it('lets public addresses through whatever the setting', () => {
    // Act
    const refusals = [refuseAddress('8.8.8.8', []), refuseAddress('2606:4700::1111', ['loopback'])];

    // Assess
    expect(refusals).toEqual([null, null]);
  });

  it('lets loopback and private addresses through only when the setting lists them', () => {
    // Act
    const closed = [refuseAddress('127.0.0.1', []), refuseAddress('10.0.0.5', ['loopback'])];
    const opened = [refuseAddress('127.0.0.1', ['loopback']), refuseAddress('::ffff:10.0.0.5', ['private'])];

    // Assess
    expect(closed).toEqual([
      {
        address: '127.0.0.1',
        addressClass: 'loopback',
        reason:
          '127.0.0.1, a loopback address, which this deployment does not allow (its allowedTargetNetworks setting does not include "loopback")',
      },
      {
        address: '10.0.0.5',
        addressClass: 'private',
        reason:
          '10.0.0.5, a private-network address, which this deployment does not allow (its allowedTargetNetworks setting does not include "private")',
      },
    ]);
    expect(opened).toEqual([null, null]);
  });

  it.each([
    ['169.254.169.254', 'a cloud metadata address'],
    ['100.100.100.200', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['169.254.1.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['224.0.0.251', 'a multicast address'],
    ['255.255.255.255', 'the broadcast address'],
    ['240.0.0.1', 'a reserved address'],
  ])('refuses %s, %s, even with every network allowed', (address, description) => {
    // Act
    const refusal = refuseAddress(address, ['loopback', 'private']);

    // Assess
    expect(refusal?.reason).toBe(`${address}, ${description}, which http targets may never reach`);
  });
});

describe('describeAllowedNetworks', () => {
  it.each([
    [[], 'public addresses only'],
    [['loopback'], 'public and loopback addresses'],
    [['private', 'loopback'], 'public, loopback and private addresses'],
  ] as const)('describes %j', (networks, expected) => {
    // Act
    const text = describeAllowedNetworks(networks);

    // Assess
    expect(text).toBe(expected);
  });
});
