import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";

// A local stand-in for AWS KMS that speaks its wire protocol (AWS JSON 1.1: `POST /`,
// `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: TrentService.<Operation>`, blobs as
// base64 strings, errors as `{"__type", "message"}`) well enough for the real `KMSClient`:
// DescribeKey, GetPublicKey and Sign with real keys and real ECDSA signatures (DER, like KMS).

export type FakeKmsKeySpec = "ECC_NIST_P256" | "ECC_NIST_P384" | "RSA_2048" | "SYMMETRIC_DEFAULT";
export type FakeKmsKeyUsage = "SIGN_VERIFY" | "ENCRYPT_DECRYPT";
export type FakeKmsOperation = "DescribeKey" | "GetPublicKey" | "Sign";

export interface CreateFakeKmsKeyOptions {
  /** Default `ECC_NIST_P256`. */
  keySpec?: FakeKmsKeySpec;
  /** Default `SIGN_VERIFY` (`ENCRYPT_DECRYPT` for `SYMMETRIC_DEFAULT`). */
  keyUsage?: FakeKmsKeyUsage;
  /** Default true. */
  enabled?: boolean;
  /** An alias name (`alias/…`) pointing at the new key. */
  alias?: string;
}

export interface FakeKmsKey {
  readonly keyId: string;
  readonly arn: string;
  /** The public half; `undefined` for symmetric keys. */
  readonly publicKey: KeyObject | undefined;
}

/** One request as received, for assertions on what the real client sent. */
export interface FakeKmsRequest {
  /** From `X-Amz-Target` (`TrentService.Sign` → `Sign`). */
  readonly operation: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface FakeKmsFault {
  /** AWS error type, e.g. `ThrottlingException`. */
  type: string;
  /** Default 400. */
  status?: number;
  message?: string;
}

export interface FakeKmsServer {
  /** `http://127.0.0.1:<port>`, for `KMSClient`'s `endpoint`. */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** Every request received, oldest first. */
  readonly requests: readonly FakeKmsRequest[];
  createKey(options?: CreateFakeKmsKeyOptions): FakeKmsKey;
  /** Points `alias` (`alias/…`) at a key, creating or moving it. */
  setAlias(alias: string, keyId: string): void;
  setEnabled(keyId: string, enabled: boolean): void;
  /** Makes the next request for `operation` fail with `fault` (once). */
  failNext(operation: FakeKmsOperation, fault: FakeKmsFault): void;
  /** The real `KMSClient`, pointed here with static fake credentials and no retries. */
  createClient(config?: Partial<KMSClientConfig>): KMSClient;
  close(): Promise<void>;
}

export interface StartFakeKmsServerOptions {
  /** Default `eu-west-1`. */
  region?: string;
  /** Default `111122223333`. */
  accountId?: string;
}

interface StoredKey {
  readonly keyId: string;
  readonly arn: string;
  readonly keySpec: FakeKmsKeySpec;
  readonly keyUsage: FakeKmsKeyUsage;
  readonly createdAt: Date;
  readonly privateKey: KeyObject | undefined;
  readonly publicKey: KeyObject | undefined;
  enabled: boolean;
}

/** An AWS JSON error answer. */
class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const CONTENT_TYPE = "application/x-amz-json-1.1";
const MAX_BODY_BYTES = 1024 * 1024;
const FAKE_CREDENTIALS = { accessKeyId: "AKIAFAKEKMSTESTKEY00", secretAccessKey: "fake-secret" };

/**
 * Starts the fake on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * const kms = await startFakeKmsServer();
 * const key = kms.createKey();
 * const signer = await createKmsSigner(kms.createClient(), key.keyId);
 */
export async function startFakeKmsServer(
  options: StartFakeKmsServerOptions = {},
): Promise<FakeKmsServer> {
  const region = options.region ?? "eu-west-1";
  const accountId = options.accountId ?? "111122223333";
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, string>();
  const requests: FakeKmsRequest[] = [];
  const faults = new Map<string, FakeKmsFault>();

  const arnPrefix = `arn:aws:kms:${region}:${accountId}:`;

  function findKey(reference: unknown): StoredKey {
    if (typeof reference !== "string" || reference === "") {
      throw new KmsFault("ValidationException", "1 validation error detected: KeyId is required");
    }
    const local = reference.startsWith(arnPrefix) ? reference.slice(arnPrefix.length) : reference;
    if (local.startsWith("alias/")) {
      const target = aliases.get(local);
      const key = target === undefined ? undefined : keys.get(target);
      if (key === undefined)
        throw new KmsFault("NotFoundException", `Alias ${arnPrefix}${local} is not found.`);
      return key;
    }
    const keyId = local.startsWith("key/") ? local.slice(4) : local;
    const key = keys.get(keyId);
    if (key === undefined || (reference.startsWith("arn:") && !reference.startsWith(arnPrefix))) {
      throw new KmsFault("NotFoundException", `Key '${arnPrefix}key/${keyId}' does not exist`);
    }
    return key;
  }

  function describeKey(body: Record<string, unknown>): unknown {
    const key = findKey(body.KeyId);
    return {
      KeyMetadata: {
        AWSAccountId: accountId,
        KeyId: key.keyId,
        Arn: key.arn,
        // AWS JSON timestamps are epoch seconds.
        CreationDate: key.createdAt.getTime() / 1000,
        Enabled: key.enabled,
        Description: "",
        KeyUsage: key.keyUsage,
        KeyState: key.enabled ? "Enabled" : "Disabled",
        Origin: "AWS_KMS",
        KeyManager: "CUSTOMER",
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        ...algorithmsOf(key),
        MultiRegion: false,
      },
    };
  }

  function getPublicKey(body: Record<string, unknown>): unknown {
    const key = usableKey(body.KeyId);
    if (key.publicKey === undefined) {
      throw new KmsFault(
        "UnsupportedOperationException",
        `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for GetPublicKey.`,
      );
    }
    return {
      KeyId: key.arn,
      PublicKey: key.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...algorithmsOf(key),
    };
  }

  function signMessage(body: Record<string, unknown>): unknown {
    const key = usableKey(body.KeyId);
    if (key.keyUsage !== "SIGN_VERIFY") {
      throw new KmsFault("InvalidKeyUsageException", `${key.arn} key usage is ${key.keyUsage}`);
    }
    const algorithm = body.SigningAlgorithm;
    if (typeof algorithm !== "string") {
      throw new KmsFault("ValidationException", "1 validation error detected: SigningAlgorithm");
    }
    if (!(algorithmsOf(key).SigningAlgorithms ?? []).includes(algorithm)) {
      throw new KmsFault(
        "InvalidKeyUsageException",
        `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
      );
    }
    if (typeof body.Message !== "string") {
      throw new KmsFault("ValidationException", "1 validation error detected: Message");
    }
    const message = Buffer.from(body.Message, "base64");
    const messageType = body.MessageType ?? "RAW";
    if (key.keySpec !== "ECC_NIST_P256" || key.privateKey === undefined) {
      throw new KmsFault("KMSInternalException", "The fake KMS signs only with P-256 keys", 500);
    }
    let der: Uint8Array;
    switch (messageType) {
      case "RAW":
        if (message.length === 0 || message.length > 4096) {
          throw new KmsFault(
            "ValidationException",
            "1 validation error detected: Value at 'message' failed to satisfy constraint: " +
              "Member must have length less than or equal to 4096",
          );
        }
        der = sign("sha256", message, key.privateKey);
        break;
      case "DIGEST":
        if (message.length !== 32) {
          throw new KmsFault(
            "ValidationException",
            `Digest is invalid length for algorithm ${algorithm}.`,
          );
        }
        der = signP256Digest(key.privateKey, message);
        break;
      default:
        throw new KmsFault("ValidationException", `Invalid MessageType ${String(messageType)}`);
    }
    return {
      KeyId: key.arn,
      Signature: Buffer.from(der).toString("base64"),
      SigningAlgorithm: algorithm,
    };
  }

  function usableKey(reference: unknown): StoredKey {
    const key = findKey(reference);
    if (!key.enabled) throw new KmsFault("DisabledException", `${key.arn} is disabled.`);
    return key;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const answer = (status: number, payload: unknown) => {
      const json = JSON.stringify(payload);
      response.writeHead(status, {
        "Content-Type": CONTENT_TYPE,
        "Content-Length": Buffer.byteLength(json),
        "x-amzn-RequestId": requestId,
      });
      response.end(json);
    };
    try {
      const raw = await readBody(request);
      const target = request.headers["x-amz-target"];
      const operation =
        typeof target === "string" && target.startsWith("TrentService.")
          ? target.slice("TrentService.".length)
          : "";
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
          body = parsed as Record<string, unknown>;
        } else {
          throw new Error("not an object");
        }
      } finally {
        requests.push({ operation, headers: request.headers, body });
      }
      checkEnvelope(request, operation, region);
      const fault = faults.get(operation);
      if (fault !== undefined) {
        faults.delete(operation);
        throw new KmsFault(fault.type, fault.message ?? fault.type, fault.status ?? 400);
      }
      switch (operation) {
        case "DescribeKey":
          return answer(200, describeKey(body));
        case "GetPublicKey":
          return answer(200, getPublicKey(body));
        case "Sign":
          return answer(200, signMessage(body));
        default:
          throw new KmsFault("UnknownOperationException", `Unknown operation ${operation}`);
      }
    } catch (error) {
      if (error instanceof KmsFault) {
        return answer(error.status, { __type: error.type, message: error.message });
      }
      if (error instanceof SyntaxError || (error as Error).message === "not an object") {
        return answer(400, { __type: "SerializationException", message: "Malformed JSON body" });
      }
      return answer(500, { __type: "KMSInternalException", message: String(error) });
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    region,
    accountId,
    requests,
    createKey(keyOptions = {}) {
      const keySpec = keyOptions.keySpec ?? "ECC_NIST_P256";
      const keyUsage =
        keyOptions.keyUsage ??
        (keySpec === "SYMMETRIC_DEFAULT" ? "ENCRYPT_DECRYPT" : "SIGN_VERIFY");
      const keyId = randomUUID();
      const pair = generateKeyPairFor(keySpec);
      const key: StoredKey = {
        keyId,
        arn: `${arnPrefix}key/${keyId}`,
        keySpec,
        keyUsage,
        createdAt: new Date(),
        privateKey: pair?.privateKey,
        publicKey: pair?.publicKey,
        enabled: keyOptions.enabled ?? true,
      };
      keys.set(keyId, key);
      if (keyOptions.alias !== undefined) aliases.set(keyOptions.alias, keyId);
      return { keyId, arn: key.arn, publicKey: key.publicKey };
    },
    setAlias(alias, keyId) {
      if (!alias.startsWith("alias/")) throw new TypeError('Alias names start with "alias/"');
      aliases.set(alias, findKey(keyId).keyId);
    },
    setEnabled(keyId, enabled) {
      findKey(keyId).enabled = enabled;
    },
    failNext(operation, fault) {
      faults.set(operation, fault);
    },
    createClient(config = {}) {
      return new KMSClient({
        endpoint,
        region,
        credentials: FAKE_CREDENTIALS,
        maxAttempts: 1,
        ...config,
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a real client always sends: KMS's content type, target, and a SigV4 signature for kms. */
function checkEnvelope(request: IncomingMessage, operation: string, region: string): void {
  if (request.method !== "POST" || request.url !== "/") {
    throw new KmsFault("UnknownOperationException", "KMS accepts only POST /");
  }
  if (request.headers["content-type"] !== CONTENT_TYPE) {
    throw new KmsFault("UnknownOperationException", `Content-Type must be ${CONTENT_TYPE}`);
  }
  if (operation === "") {
    throw new KmsFault("UnknownOperationException", "Missing X-Amz-Target: TrentService.*");
  }
  const authorization = request.headers.authorization ?? "";
  const scope = new RegExp(
    `^AWS4-HMAC-SHA256 Credential=${FAKE_CREDENTIALS.accessKeyId}/\\d{8}/${region}/kms/aws4_request, ` +
      "SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$",
  );
  if (!scope.test(authorization)) {
    throw new KmsFault("IncompleteSignatureException", "Missing or malformed SigV4 authorization");
  }
}

function algorithmsOf(key: StoredKey): {
  SigningAlgorithms?: string[];
  EncryptionAlgorithms?: string[];
} {
  if (key.keyUsage === "ENCRYPT_DECRYPT") {
    return {
      EncryptionAlgorithms:
        key.keySpec === "SYMMETRIC_DEFAULT"
          ? ["SYMMETRIC_DEFAULT"]
          : ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
    };
  }
  switch (key.keySpec) {
    case "ECC_NIST_P256":
      return { SigningAlgorithms: ["ECDSA_SHA_256"] };
    case "ECC_NIST_P384":
      return { SigningAlgorithms: ["ECDSA_SHA_384"] };
    case "RSA_2048":
      return {
        SigningAlgorithms: [
          "RSASSA_PKCS1_V1_5_SHA_256",
          "RSASSA_PKCS1_V1_5_SHA_384",
          "RSASSA_PKCS1_V1_5_SHA_512",
          "RSASSA_PSS_SHA_256",
          "RSASSA_PSS_SHA_384",
          "RSASSA_PSS_SHA_512",
        ],
      };
    case "SYMMETRIC_DEFAULT":
      return {};
  }
}

function generateKeyPairFor(
  keySpec: FakeKmsKeySpec,
): { privateKey: KeyObject; publicKey: KeyObject } | undefined {
  switch (keySpec) {
    case "ECC_NIST_P256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "ECC_NIST_P384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" });
    case "RSA_2048":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
    case "SYMMETRIC_DEFAULT":
      return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KmsFault("ValidationException", "Request too large", 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

// ECDSA over an already-hashed message, which KMS does for `MessageType: DIGEST` and node:crypto
// cannot (it always hashes). Plain P-256 arithmetic in Jacobian coordinates; test use only.

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Jacobian = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  1n,
];

type Jacobian = readonly [bigint, bigint, bigint];

function mod(value: bigint, modulus: bigint): bigint {
  const result = value % modulus;
  return result < 0n ? result + modulus : result;
}

function invert(value: bigint, modulus: bigint): bigint {
  let [a, b, x, y] = [mod(value, modulus), modulus, 1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b, x, y] = [b, a - q * b, y, x - q * y];
  }
  if (a !== 1n) throw new Error("Not invertible");
  return mod(x, modulus);
}

// dbl-2001-b (a = -3).
function double(point: Jacobian | undefined): Jacobian | undefined {
  if (point === undefined || point[1] === 0n) return undefined;
  const [x, y, z] = point;
  const delta = mod(z * z, P);
  const gamma = mod(y * y, P);
  const beta = mod(x * gamma, P);
  const alpha = mod(3n * (x - delta) * (x + delta), P);
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) ** 2n - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}

// add-2007-bl.
function add(p1: Jacobian | undefined, p2: Jacobian | undefined): Jacobian | undefined {
  if (p1 === undefined) return p2;
  if (p2 === undefined) return p1;
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = mod(z1 * z1, P);
  const z2z2 = mod(z2 * z2, P);
  const u1 = mod(x1 * z2z2, P);
  const u2 = mod(x2 * z1z1, P);
  const s1 = mod(y1 * z2 * z2z2, P);
  const s2 = mod(y2 * z1 * z1z1, P);
  const h = mod(u2 - u1, P);
  const r = mod(2n * (s2 - s1), P);
  if (h === 0n) return r === 0n ? double(p1) : undefined;
  const i = mod(4n * h * h, P);
  const j = mod(h * i, P);
  const v = mod(u1 * i, P);
  const x3 = mod(r * r - j - 2n * v, P);
  const y3 = mod(r * (v - x3) - 2n * s1 * j, P);
  const z3 = mod(((z1 + z2) ** 2n - z1z1 - z2z2) * h, P);
  return [x3, y3, z3];
}

function multiplyG(scalar: bigint): Jacobian | undefined {
  let result: Jacobian | undefined;
  let addend: Jacobian | undefined = G;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = double(addend);
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, "hex");
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** ECDSA (FIPS 186-4) over a 32-byte digest with a random nonce; DER `SEQUENCE { r, s }`. */
function signP256Digest(privateKey: KeyObject, digest: Uint8Array): Uint8Array {
  const { d } = privateKey.export({ format: "jwk" });
  const secret = toBigInt(Buffer.from(d as string, "base64url"));
  const z = toBigInt(digest);
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const point = multiplyG(k);
    if (point === undefined) continue;
    const zInverse = invert(point[2], P);
    const r = mod(point[0] * zInverse * zInverse, P) % N;
    if (r === 0n) continue;
    const s = mod(invert(k, N) * (z + r * secret), N);
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}
