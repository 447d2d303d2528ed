// @vitest-environment happy-dom
import { type Capability, describeCapability, type Envelope } from "@agentauth/core";
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { CapabilityList } from "./capability-list.js";
import { EnvelopeSummary } from "./envelope-summary.js";

afterEach(cleanup);

const CAPABILITIES: Capability[] = [
  { type: "read", resource: "calendar/*" },
  { type: "write", resource: "notes/inbox", max_items: 5, append_only: true },
  { type: "delete", resource: "photos/2024" },
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "custom", resource: "rooms/*", namespace: "com.example", name: "book-room" },
  { type: "read", resource: "*" },
];

describe("CapabilityList", () => {
  it("shows every capability in plain English with its risk in words", () => {
    render(<CapabilityList capabilities={CAPABILITIES} />);
    const items = within(screen.getByRole("list", { name: "Capabilities" })).getAllByRole(
      "listitem",
    );
    expect(items.map((item) => item.textContent)).toEqual([
      "Low riskRead everything under calendar/",
      "Medium riskWrite to notes/inbox (append only, at most 5 items per request)",
      "High riskDelete photos/2024",
      "High riskMake payments to merchant/acme of at most 50.00 EUR each",
      'Medium riskPerform "book-room" (com.example) on everything under rooms/',
      "High riskRead everything",
    ]);
  });

  it("shows the registry's own descriptions as given", () => {
    const capability: Capability = { type: "read", resource: "mail/inbox" };
    render(
      <CapabilityList
        capabilities={[{ capability, text: "Read the mail inbox", risk: "medium" }]}
        label="Asked"
      />,
    );
    const item = within(screen.getByRole("list", { name: "Asked" })).getByRole("listitem");
    expect(item.textContent).toBe("Medium riskRead the mail inbox");
  });

  it("agrees with core's describeCapability, the function the registry uses", () => {
    render(<CapabilityList capabilities={CAPABILITIES} />);
    for (const capability of CAPABILITIES) {
      expect(screen.getAllByText(describeCapability(capability).text).length).toBeGreaterThan(0);
    }
  });

  it("says so when there is nothing", () => {
    render(<CapabilityList capabilities={[]} />);
    expect(screen.getByText("No capabilities.")).toBeTruthy();
  });
});

describe("EnvelopeSummary", () => {
  it("states every limit in plain English", () => {
    const envelope: Envelope = {
      type: "envelope",
      rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
      time_windows: [
        {
          days: ["mon", "tue", "wed", "thu", "fri"],
          start: "09:00",
          end: "17:00",
          time_zone: "Europe/Paris",
        },
      ],
      max_transaction_amount: { amount: "50.00", currency: "EUR" },
      spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86_400 }],
      step_up_above: { amount: "100.00", currency: "EUR" },
      max_token_lifetime_seconds: 300,
    };
    render(<EnvelopeSummary envelope={envelope} />);
    const lines = within(screen.getByRole("list", { name: "Limits" }))
      .getAllByRole("listitem")
      .map((item) => item.textContent);
    expect(lines).toEqual([
      "At most 30 requests a minute (bursts of up to 5 a second)",
      "Weekdays 09:00–17:00 (Europe/Paris)",
      "At most 50.00 EUR per payment",
      "At most 200.00 EUR per day",
      "Payments above 100.00 EUR need your approval again",
      "Tokens last at most 5 minutes",
    ]);
  });

  it("shows the registry's lines as given", () => {
    render(
      <EnvelopeSummary
        envelope={{ envelope: { type: "envelope" }, lines: ["At most 1 request an hour"] }}
      />,
    );
    expect(screen.getByRole("listitem").textContent).toBe("At most 1 request an hour");
  });

  it("says there are no extra limits without an envelope", () => {
    render(<EnvelopeSummary envelope={null} />);
    expect(screen.getByText(/No limits on rate, time or spending/)).toBeTruthy();
  });
});
