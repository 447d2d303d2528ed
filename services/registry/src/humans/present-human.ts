/** How a human appears in API responses. */
export interface PresentedHuman {
  readonly id: string;
  readonly display_name: string;
  readonly is_admin: boolean;
}

/** The public view of a human: never the WebAuthn user handle or internal state. */
export function presentHuman(human: PresentedHuman): PresentedHuman {
  return { id: human.id, display_name: human.display_name, is_admin: human.is_admin };
}
