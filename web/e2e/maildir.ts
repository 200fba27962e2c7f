import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** The Maildir the stack's mail server delivers to (its `new/` holds one file per mail). */
export const MAILDIR = process.env.E2E_MAILDIR;

export type Mail = { file: string; headers: Map<string, string[]>; subject: string; text: string };

/** Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) in a header. */
function decodeHeader(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) => {
      if (encoding.toUpperCase() === "B") return Buffer.from(text, "base64").toString("utf8");
      const bytes = text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (__, hex: string) => `%${hex}`);
      try {
        return decodeURIComponent(bytes);
      } catch {
        return text;
      }
    });
}

/** The body as readable text too: quoted-printable and base64 parts decoded, whatever the layout. */
function readableBody(body: string): string {
  const quoted = body
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const base64 = [...body.matchAll(/(?:^[A-Za-z0-9+/]{16,}={0,2}\r?\n?)+/gm)]
    .map((block) => Buffer.from(block[0].replace(/\s+/g, ""), "base64").toString("utf8"))
    .join("\n");
  return `${body}\n${quoted}\n${base64}`;
}

export function parseMail(file: string, raw: string): Mail {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split);
  const headers = new Map<string, string[]>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const subject = decodeHeader(headers.get("subject")?.[0] ?? "");
  return { file, headers, subject, text: `${subject}\n${raw}\n${readableBody(body)}` };
}

/** Every mail delivered so far that is about the page at `slug`. */
export async function mailsAbout(slug: string): Promise<Mail[]> {
  const dir = join(MAILDIR ?? "", "new");
  const names = await readdir(dir).catch(() => [] as string[]);
  const mails: Mail[] = [];
  for (const name of names.filter((n) => !n.startsWith("."))) {
    const raw = await readFile(join(dir, name), "utf8").catch(() => null);
    if (raw === null) continue;
    const mail = parseMail(name, raw);
    if (mail.text.toLowerCase().includes(slug.toLowerCase())) mails.push(mail);
  }
  return mails;
}

/**
 * How many mails about `slug` say it was opened, and how many that it was answered (the
 * slug itself, which may hold either word, left out of the subject first).
 */
export async function mailCount(slug: string): Promise<{ opened: number; answered: number }> {
  const subjects = (await mailsAbout(slug)).map((m) => m.subject.toLowerCase().split(slug.toLowerCase()).join(" "));
  return {
    opened: subjects.filter((s) => s.includes("opened") && !s.includes("answered")).length,
    answered: subjects.filter((s) => s.includes("answered")).length,
  };
}
