import type { Express } from "express";
import request from "supertest";
import type {
  AssertOverrides,
  AuthenticationResponseJSON,
  CreationOptionsJSON,
  RegisterOverrides,
  RegistrationResponseJSON,
  RequestOptionsJSON,
  SoftwareAuthenticator,
} from "./software-authenticator.js";

/** The human as the registry presents it. */
export interface TestHuman {
  readonly id: string;
  readonly display_name: string;
  readonly is_admin: boolean;
}

/**
 * A test human in a browser: a software authenticator, the session cookie, and requests that
 * carry the `Origin` header a browser would send. The ceremony steps are exposed one by one so
 * tests can tamper between them; `enrol` and `signIn` run them end to end.
 */
export interface HumanClient {
  readonly authenticator: SoftwareAuthenticator;
  /** `agentauth_session=…`, once enrolled or signed in. */
  cookie: string | undefined;
  human: TestHuman | undefined;

  /** Enrols with an invitation link (`…/enrol#<token>`); expects success, signs in. */
  enrol(
    invitationUrl: string,
    options?: { displayName?: string; passkeyName?: string },
  ): Promise<TestHuman>;
  /** Signs in with a discoverable passkey; expects success. */
  signIn(overrides?: AssertOverrides): Promise<TestHuman>;
  /** Adds a passkey to the signed-in human; expects success, returns its credential id. */
  addPasskey(options?: { passkeyName?: string; overrides?: RegisterOverrides }): Promise<string>;

  registrationOptions(
    body: Record<string, unknown>,
  ): Promise<{ challengeId: string; options: CreationOptionsJSON }>;
  verifyRegistration(
    challengeId: string,
    response: RegistrationResponseJSON | unknown,
    passkeyName?: string,
  ): Promise<request.Response>;
  authenticationOptions(): Promise<{ challengeId: string; options: RequestOptionsJSON }>;
  verifyAuthentication(
    challengeId: string,
    response: AuthenticationResponseJSON | unknown,
  ): Promise<request.Response>;

  get(path: string): request.Test;
  post(path: string, body?: unknown): request.Test;
  delete(path: string): request.Test;
}

export interface CreateHumanClientOptions {
  readonly authenticator: SoftwareAuthenticator;
  /** The `Origin` header to send; default the authenticator's origin. */
  readonly origin?: string;
}

export function createHumanClient(app: Express, options: CreateHumanClientOptions): HumanClient {
  const origin = options.origin ?? options.authenticator.origin;

  const withHeaders = (test: request.Test): request.Test => {
    test.set("Origin", origin);
    if (client.cookie !== undefined) test.set("Cookie", client.cookie);
    return test;
  };

  const client: HumanClient = {
    authenticator: options.authenticator,
    cookie: undefined,
    human: undefined,

    async enrol(invitationUrl, enrolOptions = {}) {
      const invitation = new URL(invitationUrl).hash.slice(1);
      const { challengeId, options: creation } = await client.registrationOptions({
        invitation,
        display_name: enrolOptions.displayName ?? "Test Human",
      });
      const response = await options.authenticator.register(creation);
      const verified = await client.verifyRegistration(
        challengeId,
        response,
        enrolOptions.passkeyName,
      );
      expectStatus(verified, 201);
      client.human = verified.body.human as TestHuman;
      return client.human;
    },

    async signIn(overrides) {
      const { challengeId, options: requestOptions } = await client.authenticationOptions();
      const response = await options.authenticator.assert(requestOptions, overrides);
      const verified = await client.verifyAuthentication(challengeId, response);
      expectStatus(verified, 200);
      client.human = verified.body.human as TestHuman;
      return client.human;
    },

    async addPasskey(addOptions = {}) {
      const { challengeId, options: creation } = await client.registrationOptions({});
      const response = await options.authenticator.register(creation, addOptions.overrides);
      const verified = await client.verifyRegistration(
        challengeId,
        response,
        addOptions.passkeyName,
      );
      expectStatus(verified, 201);
      return (verified.body.passkey as { credential_id: string }).credential_id;
    },

    async registrationOptions(body) {
      const response = await client.post("/api/webauthn/registration/options", body);
      expectStatus(response, 200);
      return {
        challengeId: response.body.challenge_id as string,
        options: response.body.options as CreationOptionsJSON,
      };
    },

    async verifyRegistration(challengeId, response, passkeyName) {
      const result = await client.post("/api/webauthn/registration/verify", {
        challenge_id: challengeId,
        response,
        ...(passkeyName === undefined ? {} : { passkey_name: passkeyName }),
      });
      captureCookie(result);
      return result;
    },

    async authenticationOptions() {
      const response = await client.post("/api/webauthn/authentication/options", {});
      expectStatus(response, 200);
      return {
        challengeId: response.body.challenge_id as string,
        options: response.body.options as RequestOptionsJSON,
      };
    },

    async verifyAuthentication(challengeId, response) {
      const result = await client.post("/api/webauthn/authentication/verify", {
        challenge_id: challengeId,
        response,
      });
      captureCookie(result);
      return result;
    },

    get: (path) => withHeaders(request(app).get(path)),
    post: (path, body) => {
      const test = withHeaders(request(app).post(path));
      return body === undefined ? test : test.send(body as object);
    },
    delete: (path) => withHeaders(request(app).delete(path)),
  };

  function captureCookie(response: request.Response): void {
    const cookie = sessionSetCookie(response);
    if (cookie !== undefined) client.cookie = cookie.split(";")[0];
  }

  return client;
}

/** The `Set-Cookie` header that sets the session cookie, if any. */
export function sessionSetCookie(response: request.Response): string | undefined {
  const header = response.headers["set-cookie"] as unknown;
  const cookies = Array.isArray(header)
    ? (header as string[])
    : typeof header === "string"
      ? [header]
      : [];
  return cookies.find((cookie) => cookie.startsWith("agentauth_session="));
}

function expectStatus(response: request.Response, status: number): void {
  if (response.status !== status) {
    throw new Error(
      `Expected HTTP ${status}, got ${response.status}: ${JSON.stringify(response.body)}`,
    );
  }
}
