/** One challenge of a `WWW-Authenticate` field (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** The auth-scheme, lower-cased (schemes are case-insensitive): `dpop`, `bearer`… */
  readonly scheme: string;
  /** The token68 form, for schemes that use it instead of parameters. */
  readonly token68?: string;
  /** The auth-params by lower-cased name, values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses `WWW-Authenticate` (several fields joined with ", ", as `Headers.get` returns them)
 * into its challenges:
 *
 *     challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *     auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * Never throws. A malformed challenge — including one that repeats a parameter, which RFC 9110
 * forbids and which could make `error` mean two things — is dropped, and parsing resumes at the
 * next comma outside a quoted string.
 */
export function parseWwwAuthenticate(field: string | null | undefined): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  if (typeof field !== "string") return challenges;
  const parser = new Parser(field);
  for (;;) {
    parser.skipListSeparators();
    if (parser.atEnd()) return challenges;
    const start = parser.position;
    const challenge = parser.challenge();
    if (challenge === undefined) {
      parser.position = start;
      parser.skipPastNextComma();
    } else {
      challenges.push(challenge);
    }
  }
}

/**
 * The challenge an AgentAuth service provider answers with: `DPoP` (RFC 9449 §7.1), else
 * `Bearer` (RFC 6750 §3), else `undefined`.
 */
export function findTokenChallenge(
  challenges: readonly AuthChallenge[],
): AuthChallenge | undefined {
  return (
    challenges.find((challenge) => challenge.scheme === "dpop") ??
    challenges.find((challenge) => challenge.scheme === "bearer")
  );
}

class Parser {
  position = 0;
  constructor(private readonly input: string) {}

  atEnd(): boolean {
    return this.position >= this.input.length;
  }

  private peek(offset = 0): string {
    return this.input.charAt(this.position + offset);
  }

  skipWhitespace(): void {
    while (this.peek() === " " || this.peek() === "\t") this.position++;
  }

  skipListSeparators(): void {
    while (this.peek() === " " || this.peek() === "\t" || this.peek() === ",") this.position++;
  }

  skipPastNextComma(): void {
    let quoted = false;
    while (!this.atEnd()) {
      const character = this.peek();
      this.position++;
      if (quoted && character === "\\") this.position++;
      else if (character === '"') quoted = !quoted;
      else if (!quoted && character === ",") return;
    }
  }

  private token(): string {
    const start = this.position;
    while (TCHAR.test(this.peek())) this.position++;
    return this.input.slice(start, this.position);
  }

  private token68(): string {
    const start = this.position;
    while (TOKEN68_CHAR.test(this.peek())) this.position++;
    if (this.position === start) return "";
    while (this.peek() === "=") this.position++;
    return this.input.slice(start, this.position);
  }

  private quotedString(): string | undefined {
    if (this.peek() !== '"') return undefined;
    this.position++;
    let value = "";
    while (!this.atEnd()) {
      const character = this.peek();
      this.position++;
      if (character === '"') return value;
      if (character === "\\") {
        const escaped = this.peek();
        if (escaped === "" || !isQuotable(escaped)) return undefined;
        value += escaped;
        this.position++;
      } else if (isQuotable(character)) {
        value += character;
      } else {
        return undefined;
      }
    }
    return undefined;
  }

  /** Whether an auth-param (`name = value`) starts here, as opposed to a token68 or a scheme. */
  private atAuthParam(): boolean {
    const start = this.position;
    try {
      if (this.token() === "") return false;
      this.skipWhitespace();
      if (this.peek() !== "=") return false;
      this.position++;
      this.skipWhitespace();
      return this.peek() === '"' || TCHAR.test(this.peek());
    } finally {
      this.position = start;
    }
  }

  challenge(): AuthChallenge | undefined {
    const scheme = this.token();
    if (scheme === "") return undefined;
    const params = new Map<string, string>();
    const afterScheme = this.position;
    this.skipWhitespace();
    if (this.atEnd() || this.peek() === ",") return { scheme: scheme.toLowerCase(), params };
    if (this.position === afterScheme) return undefined;

    if (!this.atAuthParam()) {
      const token68 = this.token68();
      this.skipWhitespace();
      if (token68 === "" || !(this.atEnd() || this.peek() === ",")) return undefined;
      return { scheme: scheme.toLowerCase(), token68, params };
    }
    for (;;) {
      const name = this.token().toLowerCase();
      this.skipWhitespace();
      this.position++; // "=", checked by atAuthParam
      this.skipWhitespace();
      const value = this.peek() === '"' ? this.quotedString() : this.token();
      if (value === undefined || params.has(name)) return undefined;
      params.set(name, value);
      this.skipWhitespace();
      if (this.atEnd()) break;
      if (this.peek() !== ",") return undefined;
      const comma = this.position;
      this.skipListSeparators();
      if (!this.atAuthParam()) {
        // The next list element is another challenge.
        this.position = comma;
        break;
      }
    }
    return { scheme: scheme.toLowerCase(), params };
  }
}

// qdtext and quoted-pair characters: HTAB, SP, visible ASCII and obs-text.
function isQuotable(character: string): boolean {
  const code = character.charCodeAt(0);
  return code === 0x09 || (code >= 0x20 && code !== 0x7f && code <= 0xff);
}
