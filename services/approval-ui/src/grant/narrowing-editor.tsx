import {
  type AuthorizationDetails,
  type Capability,
  describeCapability,
  type Envelope,
  WEEKDAYS,
  type Weekday,
} from "@agentauth/core";
import { type ReactNode, useEffect, useId, useMemo, useState } from "react";
import { CapabilityList } from "../components/capability-list.js";
import { EnvelopeSummary } from "../components/envelope-summary.js";
import { formatDuration } from "../components/format.js";
import { RiskBadge } from "../components/risk-badge.js";
import {
  buildFinalGrant,
  type CapabilityDraft,
  type EnvelopeDraft,
  FIELD,
  type FinalGrantResult,
  type GrantDraft,
  initialDraft,
  lifetimeChoices,
} from "./narrowing.js";

const DAY_NAMES: Readonly<Record<Weekday, string>> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

export interface NarrowingEditorProps {
  /** What the agent asked for. */
  readonly requested: AuthorizationDetails;
  /** Seconds the agent asked the grant to last. */
  readonly requestedLifetime: number;
  /** Every change, as the final grant it gives or the problems that stop it. */
  readonly onChange: (result: FinalGrantResult) => void;
  readonly disabled?: boolean;
}

/**
 * Lets the human narrow a request before approving it: untick capabilities, lower amounts and
 * counts, drop days, shorten the lifetime. Nothing here can raise a value above what the agent
 * asked (see `narrowing.ts`), and the registry refuses a widening anyway.
 */
export function NarrowingEditor({
  requested,
  requestedLifetime,
  onChange,
  disabled = false,
}: NarrowingEditorProps) {
  const [draft, setDraft] = useState<GrantDraft>(() => initialDraft(requested, requestedLifetime));
  const result = useMemo(
    () => buildFinalGrant(requested, requestedLifetime, draft),
    [requested, requestedLifetime, draft],
  );
  useEffect(() => onChange(result), [result, onChange]);
  const problems = result.ok ? {} : result.problems;
  const idBase = useId();

  const setCapability = (index: number, change: Partial<CapabilityDraft>) =>
    setDraft((previous) => ({
      ...previous,
      capabilities: previous.capabilities.map((edit, at) =>
        at === index ? { ...edit, ...change } : edit,
      ),
    }));
  const setEnvelope = (change: (envelope: EnvelopeDraft) => EnvelopeDraft) =>
    setDraft((previous) =>
      previous.envelope === undefined
        ? previous
        : { ...previous, envelope: change(previous.envelope) },
    );

  const field = (key: string) => ({ id: `${idBase}-${key}`, error: problems[key] });

  return (
    <div className="narrowing-editor">
      <fieldset disabled={disabled}>
        <legend>What the agent may do</legend>
        <p className="hint">Untick anything you do not want to allow, or lower its limit.</p>
        {problems[FIELD.capabilities] !== undefined && (
          <p className="field-error" role="alert">
            {problems[FIELD.capabilities]}
          </p>
        )}
        <ul className="capability-edits">
          {requested.capabilities.map((capability, index) => {
            const edit = draft.capabilities[index] ?? { included: false };
            const described = describeCapability(capability);
            const checkboxId = `${idBase}-capability-${index}`;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: a grant's entries are identified by position
              <li key={index} className={`capability-edit${edit.included ? "" : " is-excluded"}`}>
                <div className="capability-edit-head">
                  <input
                    id={checkboxId}
                    type="checkbox"
                    checked={edit.included}
                    onChange={(event) => setCapability(index, { included: event.target.checked })}
                  />
                  <label htmlFor={checkboxId}>
                    <RiskBadge risk={described.risk} /> {described.text}
                  </label>
                </div>
                {edit.included && (
                  <CapabilityLimits
                    capability={capability}
                    edit={edit}
                    index={index}
                    field={field}
                    onChange={(change) => setCapability(index, change)}
                  />
                )}
              </li>
            );
          })}
        </ul>
      </fieldset>

      {requested.envelope !== undefined && draft.envelope !== undefined && (
        <EnvelopeFields
          asked={requested.envelope}
          edit={draft.envelope}
          field={field}
          disabled={disabled}
          onChange={setEnvelope}
        />
      )}

      <fieldset disabled={disabled}>
        <legend>How long</legend>
        <label htmlFor={`${idBase}-lifetime`}>The grant lasts</label>
        <select
          id={`${idBase}-lifetime`}
          value={draft.lifetimeSeconds}
          onChange={(event) =>
            setDraft((previous) => ({ ...previous, lifetimeSeconds: Number(event.target.value) }))
          }
        >
          {lifetimeChoices(requestedLifetime).map((seconds) => (
            <option key={seconds} value={seconds}>
              {formatDuration(seconds)}
              {seconds === requestedLifetime ? " (as asked)" : ""}
            </option>
          ))}
        </select>
      </fieldset>

      <section className="final-grant" aria-labelledby={`${idBase}-final`}>
        <h3 id={`${idBase}-final`}>You are approving</h3>
        {result.ok ? (
          <>
            <CapabilityList
              capabilities={result.authorization.capabilities}
              label="Approved capabilities"
            />
            <EnvelopeSummary envelope={result.authorization.envelope} label="Approved limits" />
            <p>
              For <strong>{formatDuration(result.grantLifetime)}</strong>
              {result.narrowed ? " — narrower than asked." : ", exactly as asked."}
            </p>
          </>
        ) : (
          <p className="field-error" role="alert">
            {problems[FIELD.grant] ?? "Fix the highlighted values before approving."}
          </p>
        )}
      </section>
    </div>
  );
}

type FieldInfo = (key: string) => { id: string; error: string | undefined };

function CapabilityLimits({
  capability,
  edit,
  index,
  field,
  onChange,
}: {
  capability: Capability;
  edit: CapabilityDraft;
  index: number;
  field: FieldInfo;
  onChange: (change: Partial<CapabilityDraft>) => void;
}) {
  if (capability.type === "transact") {
    return (
      <LimitInput
        {...field(FIELD.maxAmount(index))}
        label={`Most per payment (${capability.currency})`}
        asked={`${capability.max_amount} ${capability.currency}`}
        value={edit.maxAmount ?? ""}
        inputMode="decimal"
        onChange={(maxAmount) => onChange({ maxAmount })}
      />
    );
  }
  if (capability.type === "write") {
    const appendId = field(`capabilities.${index}.append_only`).id;
    return (
      <>
        {capability.max_items !== undefined && (
          <LimitInput
            {...field(FIELD.maxItems(index))}
            label="Most items per request"
            asked={String(capability.max_items)}
            value={edit.maxItems ?? ""}
            inputMode="numeric"
            onChange={(maxItems) => onChange({ maxItems })}
          />
        )}
        <div className="checkbox-row">
          <input
            id={appendId}
            type="checkbox"
            checked={capability.append_only === true || edit.appendOnly === true}
            disabled={capability.append_only === true}
            onChange={(event) => onChange({ appendOnly: event.target.checked })}
          />
          <label htmlFor={appendId}>Only add, never change existing items</label>
        </div>
      </>
    );
  }
  return null;
}

function EnvelopeFields({
  asked,
  edit,
  field,
  disabled,
  onChange,
}: {
  asked: Envelope;
  edit: EnvelopeDraft;
  field: FieldInfo;
  disabled: boolean;
  onChange: (change: (envelope: EnvelopeDraft) => EnvelopeDraft) => void;
}) {
  const rate = asked.rate_limit;
  return (
    <fieldset disabled={disabled}>
      <legend>Limits on how it is used</legend>
      <EnvelopeSummary envelope={asked} label="Limits the agent asked for" />
      {rate !== undefined && (
        <>
          <LimitInput
            {...field(FIELD.maxRequests)}
            label={`Most requests per ${formatDuration(rate.window_seconds)}`}
            asked={String(rate.max_requests)}
            value={edit.maxRequests ?? ""}
            inputMode="numeric"
            onChange={(maxRequests) => onChange((envelope) => ({ ...envelope, maxRequests }))}
          />
          {rate.burst !== undefined && (
            <LimitInput
              {...field(FIELD.burst)}
              label="Most requests in one second"
              asked={String(rate.burst)}
              value={edit.burst ?? ""}
              inputMode="numeric"
              onChange={(burst) => onChange((envelope) => ({ ...envelope, burst }))}
            />
          )}
        </>
      )}
      {(asked.time_windows ?? []).map((window, windowIndex) => {
        const { id, error } = field(FIELD.days(windowIndex));
        const kept = edit.timeWindowDays[windowIndex] ?? window.days;
        return (
          <fieldset
            // biome-ignore lint/suspicious/noArrayIndexKey: windows are identified by position
            key={windowIndex}
            className="days"
            aria-describedby={error === undefined ? undefined : `${id}-error`}
          >
            <legend>
              Days allowed, {window.start}–{window.end} ({window.time_zone})
            </legend>
            {WEEKDAYS.filter((day) => window.days.includes(day)).map((day) => (
              <span key={day} className="checkbox-row">
                <input
                  id={`${id}-${day}`}
                  type="checkbox"
                  checked={kept.includes(day)}
                  onChange={(event) =>
                    onChange((envelope) => {
                      const days = envelope.timeWindowDays.map((list, at) =>
                        at !== windowIndex
                          ? list
                          : event.target.checked
                            ? [...list, day]
                            : list.filter((kept) => kept !== day),
                      );
                      return { ...envelope, timeWindowDays: days };
                    })
                  }
                />
                <label htmlFor={`${id}-${day}`}>{DAY_NAMES[day]}</label>
              </span>
            ))}
            {error !== undefined && (
              <p id={`${id}-error`} className="field-error">
                {error}
              </p>
            )}
          </fieldset>
        );
      })}
      {asked.max_transaction_amount !== undefined && (
        <LimitInput
          {...field(FIELD.maxTransactionAmount)}
          label={`Most per payment (${asked.max_transaction_amount.currency})`}
          asked={`${asked.max_transaction_amount.amount} ${asked.max_transaction_amount.currency}`}
          value={edit.maxTransactionAmount ?? ""}
          inputMode="decimal"
          onChange={(maxTransactionAmount) =>
            onChange((envelope) => ({ ...envelope, maxTransactionAmount }))
          }
        />
      )}
      {(asked.spend_caps ?? []).map((cap, index) => (
        <LimitInput
          // biome-ignore lint/suspicious/noArrayIndexKey: caps are identified by position
          key={index}
          {...field(FIELD.spendCap(index))}
          label={`Most spent per ${formatDuration(cap.window_seconds)} (${cap.currency})`}
          asked={`${cap.amount} ${cap.currency}`}
          value={edit.spendCaps[index] ?? ""}
          inputMode="decimal"
          onChange={(amount) =>
            onChange((envelope) => ({
              ...envelope,
              spendCaps: envelope.spendCaps.map((value, at) => (at === index ? amount : value)),
            }))
          }
        />
      ))}
      {asked.step_up_above !== undefined && (
        <LimitInput
          {...field(FIELD.stepUpAbove)}
          label={`Ask me again for payments above (${asked.step_up_above.currency})`}
          asked={`${asked.step_up_above.amount} ${asked.step_up_above.currency}`}
          value={edit.stepUpAbove ?? ""}
          inputMode="decimal"
          onChange={(stepUpAbove) => onChange((envelope) => ({ ...envelope, stepUpAbove }))}
        />
      )}
      {asked.max_token_lifetime_seconds !== undefined && (
        <LimitInput
          {...field(FIELD.maxTokenLifetime)}
          label="Longest token life (seconds)"
          asked={String(asked.max_token_lifetime_seconds)}
          value={edit.maxTokenLifetimeSeconds ?? ""}
          inputMode="numeric"
          onChange={(maxTokenLifetimeSeconds) =>
            onChange((envelope) => ({ ...envelope, maxTokenLifetimeSeconds }))
          }
        />
      )}
    </fieldset>
  );
}

function LimitInput({
  id,
  error,
  label,
  asked,
  value,
  inputMode,
  onChange,
}: {
  id: string;
  error: string | undefined;
  label: ReactNode;
  asked: string;
  value: string;
  inputMode: "decimal" | "numeric";
  onChange: (value: string) => void;
}) {
  return (
    <div className={`limit-input${error === undefined ? "" : " has-error"}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        inputMode={inputMode}
        autoComplete="off"
        value={value}
        aria-invalid={error !== undefined}
        aria-describedby={`${id}-asked${error === undefined ? "" : ` ${id}-error`}`}
        onChange={(event) => onChange(event.target.value)}
      />
      <span id={`${id}-asked`} className="hint">
        Asked: {asked} (you can only lower it)
      </span>
      {error !== undefined && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}
