import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { type AddressRefusal, refuseAddress, type TargetNetwork } from '../domain/target-network.js';

/** A target's host resolved to an address `http` targets may not reach; no connection was opened. */
export class TargetAddressRefusedError extends Error {
  readonly host: string;
  readonly refusal: AddressRefusal;
  constructor(host: string, refusal: AddressRefusal) {
    super(`${host} resolved to ${refusal.reason}`);
    this.name = 'TargetAddressRefusedError';
    this.host = host;
    this.refusal = refusal;
  }
}

/**
 * A `lookup` for `net.connect` (and so for `http.request`) that resolves with `resolve` and refuses, before
 * any connection is opened, a name with any address outside public space and `allowedNetworks`. Every
 * address of the answer is judged, not only the one connected to, so a name mixing a public and an
 * internal address cannot win by the order of its answer. Node calls `lookup` only for names: IP literals
 * must be checked by the caller.
 */
export function guardedLookup(
  allowedNetworks: readonly TargetNetwork[],
  resolve: LookupFunction = dnsLookup as LookupFunction,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, answer) => {
      if (error) {
        callback(error, options.all ? [] : '', undefined);
        return;
      }
      const addresses: LookupAddress[] =
        typeof answer === 'string' ? [{ address: answer, family: answer.includes(':') ? 6 : 4 }] : answer;
      for (const { address } of addresses) {
        const refusal = refuseAddress(address, allowedNetworks);
        if (refusal) {
          callback(new TargetAddressRefusedError(hostname, refusal), options.all ? [] : '', undefined);
          return;
        }
      }
      const [first] = addresses;
      if (options.all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else
        callback(
          Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
          '',
          undefined,
        );
    });
  };
}
