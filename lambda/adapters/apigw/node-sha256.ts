import { createHash, createHmac, Hash, Hmac } from 'node:crypto';

/** What a hash may be fed: the signer passes strings and byte views. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/**
 * SHA-256 (or HMAC-SHA256 with a key) on node:crypto, in the shape `SignatureV4` asks for
 * (`sha256`: a checksum constructor), so signing needs neither `@smithy/hash-node` nor a
 * JavaScript hash.
 */
export class NodeSha256 {
  private hash!: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.reset();
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
