// @vitest-environment happy-dom
import {
  type AuthorizationDetails,
  isNarrowerOrEqual,
  parseAuthorizationDetails,
} from "@agentauth/core";
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FinalGrantResult } from "./narrowing.js";
import { NarrowingEditor } from "./narrowing-editor.js";

afterEach(cleanup);

const REQUESTED: AuthorizationDetails = parseAuthorizationDetails([
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "read", resource: "orders/*" },
  {
    type: "envelope",
    rate_limit: { max_requests: 30, window_seconds: 60 },
    spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86_400 }],
  },
]);

function renderEditor(requested = REQUESTED, lifetime = 86_400) {
  const onChange = vi.fn<(result: FinalGrantResult) => void>();
  render(
    <NarrowingEditor requested={requested} requestedLifetime={lifetime} onChange={onChange} />,
  );
  const last = (): FinalGrantResult => {
    const result = onChange.mock.lastCall?.[0];
    if (result === undefined) throw new Error("onChange was never called");
    return result;
  };
  return { user: userEvent.setup(), onChange, last };
}

/** Every result the editor ever reported that was a grant: none may be wider than asked. */
function expectNeverWidened(onChange: ReturnType<typeof renderEditor>["onChange"]) {
  for (const [result] of onChange.mock.calls) {
    if (result.ok) expect(isNarrowerOrEqual(result.authorization, REQUESTED)).toBe(true);
  }
}

describe("NarrowingEditor", () => {
  it("starts from exactly what was asked, described in plain English with risks", () => {
    const { last } = renderEditor();
    expect(last()).toMatchObject({ ok: true, narrowed: false, grantLifetime: 86_400 });
    expect(
      screen.getByRole("checkbox", {
        name: "High risk Make payments to merchant/acme of at most 50.00 EUR each",
      }),
    ).toBeTruthy();
    expect(
      screen.getByRole("checkbox", { name: "Low risk Read everything under orders/" }),
    ).toBeTruthy();
    const summary = screen.getByRole("region", { name: "You are approving" });
    expect(within(summary).getByText("At most 200.00 EUR per day")).toBeTruthy();
  });

  it("unticking a capability leaves it out of the final grant", async () => {
    const { user, last } = renderEditor();
    await user.click(screen.getByRole("checkbox", { name: /Read everything under orders/ }));
    const result = last();
    expect(result.ok && result.authorization.capabilities).toEqual([REQUESTED.capabilities[0]]);
    const summary = screen.getByRole("region", { name: "You are approving" });
    expect(within(summary).queryByText("Read everything under orders/")).toBeNull();
  });

  it("lowers a payment limit and shows the new amount in what is approved", async () => {
    const { user, last } = renderEditor();
    const input = screen.getByRole("textbox", { name: "Most per payment (EUR)" });
    await user.clear(input);
    await user.type(input, "30");
    const result = last();
    expect(result.ok && result.authorization.capabilities[0]).toEqual({
      type: "transact",
      resource: "merchant/acme",
      max_amount: "30.00",
      currency: "EUR",
    });
    expect(result.ok && result.narrowed).toBe(true);
    const summary = screen.getByRole("region", { name: "You are approving" });
    expect(
      within(summary).getByText("Make payments to merchant/acme of at most 30.00 EUR each"),
    ).toBeTruthy();
  });

  it("cannot widen: a higher amount is refused with a message and no grant", async () => {
    const { user, last, onChange } = renderEditor();
    const input = screen.getByRole("textbox", { name: "Most per payment (EUR)" });
    await user.clear(input);
    await user.type(input, "500");
    expect(last().ok).toBe(false);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText(/At most 50.00 EUR: you cannot allow more than asked/)).toBeTruthy();
    const spend = screen.getByRole("textbox", { name: "Most spent per 1 day (EUR)" });
    await user.clear(spend);
    await user.type(spend, "200.01");
    const rate = screen.getByRole("textbox", { name: "Most requests per 1 minute" });
    await user.clear(rate);
    await user.type(rate, "31");
    expect(last().ok).toBe(false);
    expectNeverWidened(onChange);
  });

  it("cannot make the grant last longer than asked", async () => {
    const { user, last } = renderEditor(REQUESTED, 7_200);
    const select = screen.getByRole("combobox", { name: "The grant lasts" });
    const offered = within(select)
      .getAllByRole("option")
      .map((option) => (option as HTMLOptionElement).value);
    expect(offered.map(Number)).toEqual([7_200, 3_600, 900]);
    await user.selectOptions(select, "900");
    expect(last()).toMatchObject({ ok: true, grantLifetime: 900, narrowed: true });
  });

  it("refuses to approve nothing", async () => {
    const { user, last } = renderEditor();
    for (const checkbox of screen.getAllByRole("checkbox")) await user.click(checkbox);
    expect(last().ok).toBe(false);
    expect(screen.getAllByRole("alert")[0]?.textContent).toMatch(/Keep at least one capability/);
  });

  it("never reports a widening while limits are typed key by key", async () => {
    const { user, onChange } = renderEditor();
    const input = screen.getByRole("textbox", { name: "Most per payment (EUR)" });
    await user.clear(input);
    await user.type(input, "49.999");
    await user.clear(input);
    await user.type(input, "5000");
    await user.clear(input);
    await user.type(input, "0.5");
    expectNeverWidened(onChange);
  });
});
