import type { PageChanges } from "../api/update-page";
import type { CreatePageInput } from "../api/create-page";
import type { Page, PageContent } from "../types/page";

/** The API's limits, in characters. */
export const LIMITS = {
  title: 100,
  message: 2000,
  sender_name: 50,
  recipient_name: 50,
} as const;

export type TextField = keyof typeof LIMITS;

export const FIELD_LABELS: Record<TextField, string> = {
  title: "Title",
  message: "Message",
  sender_name: "From",
  recipient_name: "To",
};

// The characters the server trims: Unicode's White_Space property. It differs from
// String.prototype.trim, which also strips U+FEFF and keeps U+0085.
const EDGE_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

// Half of a UTF-16 pair with no other half: not a character, and refused by the API.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Trims leading and trailing whitespace exactly as the API does. */
export function trimText(value: string): string {
  return value.replace(EDGE_SPACE, "");
}

/**
 * Length in characters (Unicode code points), as the API counts: "❤" is 1, "💌" is 1,
 * though JavaScript's `length` says 2 for the latter.
 */
export function countChars(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

/** How many characters a field holds once trimmed: what counts against its limit. */
export function fieldLength(value: string): number {
  return countChars(trimText(value));
}

export type ContentErrors = Partial<Record<TextField, string>>;

/** Every rule the content breaks, one message per field; empty when it is fine. */
export function validateContent(content: Pick<PageContent, TextField>): ContentErrors {
  const errors: ContentErrors = {};
  for (const field of Object.keys(LIMITS) as TextField[]) {
    const length = fieldLength(content[field]);
    const required = field === "title" || field === "message";
    if (required && length === 0) {
      errors[field] = field === "title" ? "Give your page a title" : "Write a message";
    } else if (length > LIMITS[field]) {
      errors[field] = `${FIELD_LABELS[field]} can be at most ${LIMITS[field]} characters (this is ${length})`;
    } else if (LONE_SURROGATE.test(content[field])) {
      errors[field] = `${FIELD_LABELS[field]} contains a broken character`;
    }
  }
  return errors;
}

export function hasErrors(errors: ContentErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** The longest notification address the API takes, in characters. */
export const NOTIFY_EMAIL_MAX = 254;

/** A domain as the API takes it: ASCII labels (an international one in its `xn--` form). */
const EMAIL_DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** What may not be in an address's local part: it could break a mail header. */
const EMAIL_LOCAL_UNSAFE = /[\s@<>,;"\\()\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `value` is not an address the API takes for notifications, or `null` when it is
 * fine. The API's rules, and these: at most 254 characters; one `@` with up to 64
 * characters before it and nothing that could break a mail header; a domain of two or
 * more ASCII labels. Blank is fine: no mails.
 */
export function notifyEmailProblem(value: string): string | null {
  const email = trimText(value);
  if (email === "") return null;
  if (countChars(email) > NOTIFY_EMAIL_MAX) {
    return `An e-mail address can be at most ${NOTIFY_EMAIL_MAX} characters (this is ${countChars(email)})`;
  }
  const parts = email.split("@");
  const [local = "", domain = ""] = parts;
  if (
    parts.length !== 2 ||
    local === "" ||
    countChars(local) > 64 ||
    EMAIL_LOCAL_UNSAFE.test(local) ||
    !EMAIL_DOMAIN.test(domain)
  ) {
    return "Enter an e-mail address such as alex@example.com";
  }
  if (LONE_SURROGATE.test(email)) return "The e-mail address contains a broken character";
  return null;
}

/** The address to send: trimmed, or `null` for none. */
export function notifyEmailValue(value: string): string | null {
  return trimText(value) || null;
}

/** The body of a create: trimmed text, blank names and a blank address left out. */
export function toCreateInput(content: PageContent, slug: string, notifyEmail = ""): CreatePageInput {
  const input: CreatePageInput = {
    slug,
    title: trimText(content.title),
    message: trimText(content.message),
    template_id: content.template_id,
  };
  const sender = trimText(content.sender_name);
  const recipient = trimText(content.recipient_name);
  const email = notifyEmailValue(notifyEmail);
  if (sender) input.sender_name = sender;
  if (recipient) input.recipient_name = recipient;
  if (email) input.notify_email = email;
  return input;
}

/** The editable content of a stored page, for a form. */
export function contentOf(page: Page): PageContent {
  return {
    title: page.title,
    message: page.message,
    sender_name: page.sender_name ?? "",
    recipient_name: page.recipient_name ?? "",
    template_id: page.template_id,
  };
}

/** Only what the author changed; a cleared name becomes `null`, which removes it. */
export function changesBetween(page: Page, content: PageContent): PageChanges {
  const changes: PageChanges = {};
  const title = trimText(content.title);
  const message = trimText(content.message);
  const sender = trimText(content.sender_name) || null;
  const recipient = trimText(content.recipient_name) || null;
  if (title !== page.title) changes.title = title;
  if (message !== page.message) changes.message = message;
  if (sender !== page.sender_name) changes.sender_name = sender;
  if (recipient !== page.recipient_name) changes.recipient_name = recipient;
  if (content.template_id !== page.template_id) changes.template_id = content.template_id;
  return changes;
}

/** Maps a `422`'s per-field errors onto the form's fields. */
export function fieldErrorsFrom(errors: { field: string; message: string }[]): ContentErrors {
  const out: ContentErrors = {};
  for (const { field, message } of errors) {
    if (field in LIMITS) out[field as TextField] ??= message;
  }
  return out;
}
