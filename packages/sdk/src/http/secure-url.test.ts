import { describe, expect, it } from "vitest";
import { isCredentialUrl } from "./secure-url.js";

describe("isCredentialUrl", () => {
  it("accepts https anywhere and http on loopback hosts", () => {
    for (const url of [
      "https://registry.example.com",
      "https://registry.example.com/base/",
      "http://localhost:4000",
      "http://agents.localhost",
      "http://127.0.0.1:8080/x",
      "http://[::1]:4000",
    ]) {
      expect(isCredentialUrl(url), url).toBe(true);
    }
  });

  it("refuses plain http elsewhere, credentials, queries, fragments and non-URLs", () => {
    for (const url of [
      "http://registry.example.com",
      "http://localhost.example.com",
      "https://user:pass@registry.example.com",
      "https://registry.example.com/?x=1",
      "https://registry.example.com/#f",
      "ftp://registry.example.com",
      "registry.example.com",
      "",
      42,
    ]) {
      expect(isCredentialUrl(url), String(url)).toBe(false);
    }
  });
});
