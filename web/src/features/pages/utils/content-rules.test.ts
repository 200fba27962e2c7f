import { describe, expect, it } from "vitest";

import { samplePage } from "@/testing/http";

import type { PageContent } from "../types/page";
import {
  changesBetween,
  countChars,
  fieldErrorsFrom,
  fieldLength,
  LIMITS,
  notifyEmailProblem,
  notifyEmailValue,
  toCreateInput,
  trimText,
  validateContent,
} from "./content-rules";

const valid: PageContent = {
  title: "Hi",
  message: "Hello",
  sender_name: "",
  recipient_name: "",
  template_id: "classic",
};

describe("counting", () => {
  it("counts characters, not UTF-16 units or bytes", () => {
    expect(countChars("abc")).toBe(3);
    expect(countChars("❤")).toBe(1);
    expect(countChars("💌")).toBe(1);
    expect("💌".length).toBe(2);
    expect(countChars("👩‍❤️‍👨")).toBe(6); // one picture, six code points: the API counts six too
    expect(countChars("é")).toBe(1);
    expect(countChars("e\u0301")).toBe(2);
  });
});

describe("trimming", () => {
  it("trims the whitespace the API trims", () => {
    expect(trimText("  hi \n\t")).toBe("hi");
    expect(trimText("\u00a0\u3000hi\u2003\u0085")).toBe("hi");
    expect(trimText("\u2028hi\u2029")).toBe("hi");
  });

  it("keeps inner whitespace and what the API does not trim", () => {
    expect(trimText(" a  b ")).toBe("a  b");
    expect(trimText("\ufeffhi")).toBe("\ufeffhi");
    expect(trimText("\u200bhi")).toBe("\u200bhi");
  });

  it("counts a field as its trimmed length", () => {
    expect(fieldLength("   ")).toBe(0);
    expect(fieldLength("  💌💌  ")).toBe(2);
  });
});

describe("validateContent", () => {
  it("accepts a page at every limit", () => {
    const content = {
      title: "t".repeat(LIMITS.title),
      message: "m".repeat(LIMITS.message),
      sender_name: "s".repeat(LIMITS.sender_name),
      recipient_name: "r".repeat(LIMITS.recipient_name),
    };
    expect(validateContent(content)).toEqual({});
  });

  it("refuses one character past each limit", () => {
    const errors = validateContent({
      title: "t".repeat(101),
      message: "m".repeat(2001),
      sender_name: "s".repeat(51),
      recipient_name: "r".repeat(51),
    });
    expect(errors).toEqual({
      title: "Title can be at most 100 characters (this is 101)",
      message: "Message can be at most 2000 characters (this is 2001)",
      sender_name: "From can be at most 50 characters (this is 51)",
      recipient_name: "To can be at most 50 characters (this is 51)",
    });
  });

  it("counts emoji as one character each", () => {
    expect(validateContent({ ...valid, title: "💌".repeat(100) })).toEqual({});
    expect(validateContent({ ...valid, title: "💌".repeat(101) }).title).toMatch(/at most 100/);
  });

  it("does not count surrounding whitespace against the limit", () => {
    expect(validateContent({ ...valid, title: `   ${"t".repeat(100)}\n\n` })).toEqual({});
    expect(validateContent({ ...valid, sender_name: ` ${"s".repeat(50)} ` })).toEqual({});
  });

  it("requires a title and a message, even of only spaces", () => {
    expect(validateContent({ ...valid, title: "", message: " \n\t " })).toEqual({
      title: "Give your page a title",
      message: "Write a message",
    });
  });

  it("leaves the names optional", () => {
    expect(validateContent({ ...valid, sender_name: "   ", recipient_name: "" })).toEqual({});
  });

  it("refuses half a surrogate pair, which the API cannot read", () => {
    expect(validateContent({ ...valid, message: "hi \ud800" }).message).toMatch(/broken character/);
    expect(validateContent({ ...valid, message: "hi \ud83d\udc8c" })).toEqual({});
  });
});

describe("toCreateInput", () => {
  it("trims every field and leaves blank names out", () => {
    const input = toCreateInput(
      {
        title: "  Hi ",
        message: "\n Hello\nthere \n",
        sender_name: "  ",
        recipient_name: " Alice ",
        template_id: "envelope",
      },
      "Alice-1",
    );
    expect(input).toEqual({
      slug: "Alice-1",
      title: "Hi",
      message: "Hello\nthere",
      recipient_name: "Alice",
      template_id: "envelope",
    });
    expect("sender_name" in input).toBe(false);
  });
});

describe("changesBetween", () => {
  it("names only the fields that changed", () => {
    const content = {
      title: samplePage.title,
      message: "New words",
      sender_name: "Bob",
      recipient_name: "Alice",
      template_id: "classic",
    };
    expect(changesBetween(samplePage, content)).toEqual({ message: "New words", template_id: "classic" });
  });

  it("sends null for a cleared name and nothing for whitespace-only edits", () => {
    const content = {
      title: ` ${samplePage.title} `,
      message: samplePage.message,
      sender_name: "  ",
      recipient_name: "Alice",
      template_id: "proposal",
    };
    expect(changesBetween(samplePage, content)).toEqual({ sender_name: null });
  });
});

describe("fieldErrorsFrom", () => {
  it("keeps the first message for each content field", () => {
    expect(
      fieldErrorsFrom([
        { field: "title", message: "title is required" },
        { field: "title", message: "second" },
        { field: "slug", message: "ignored here" },
      ]),
    ).toEqual({ title: "title is required" });
  });
});

describe("the notification address", () => {
  it("takes what the API takes: one @, an ASCII domain with a dot, at most 254 characters", () => {
    for (const ok of ["a@example.com", "alex.smith+love@mail.example.co.uk", "  a@b.cd  ", "ünïcode@example.de", ""]) {
      expect(notifyEmailProblem(ok), ok).toBeNull();
    }
    const longest = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(longest).toHaveLength(254);
    expect(notifyEmailProblem(longest)).toBeNull();
    expect(notifyEmailProblem(`${"a".repeat(65)}@example.com`)).not.toBeNull();
    expect(notifyEmailProblem("ana@exämple.de")).not.toBeNull();
    expect(notifyEmailProblem("ana@xn--exmple-cua.de")).toBeNull();
  });

  it("refuses the rest, saying why", () => {
    for (const bad of [
      "alex",
      "alex@example",
      "a@@example.com",
      "a@b@example.com",
      "@example.com",
      "a@example.",
      "a b@example.com",
    ]) {
      expect(notifyEmailProblem(bad), bad).toBe("Enter an e-mail address such as alex@example.com");
    }
    expect(notifyEmailProblem(`${"a".repeat(243)}@example.com`)).toBe(
      "An e-mail address can be at most 254 characters (this is 255)",
    );
  });

  it("is sent trimmed, and blank means none", () => {
    expect(notifyEmailValue("  a@example.com ")).toBe("a@example.com");
    expect(notifyEmailValue("   ")).toBeNull();
    expect(toCreateInput(valid, "for-alex", " a@example.com ")).toMatchObject({ notify_email: "a@example.com" });
    expect(toCreateInput(valid, "for-alex", " ")).not.toHaveProperty("notify_email");
    expect(toCreateInput(valid, "for-alex")).not.toHaveProperty("notify_email");
  });
});
