import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { FieldChanges } from "./field-changes";

describe("FieldChanges", () => {
  it("shows a short change as before → after, with its label", () => {
    render(<FieldChanges changes={[{ field: "title", label: "Title", before: "Be mine", after: "Still mine" }]} />);
    const change = screen.getByTestId("change");
    expect(change.dataset.field).toBe("title");
    expect(within(change).getByText("Title")).toBeTruthy();
    expect(within(change).getByTestId("change-before").textContent).toBe("Be mine");
    expect(within(change).getByTestId("change-after").textContent).toBe("Still mine");
    expect(change.textContent).toContain("→");
  });

  it("says nothing was there, or is left, for a missing value", () => {
    render(
      <FieldChanges
        changes={[
          { field: "sender_name", label: "From", before: "Sam", after: null },
          { field: "song_url", label: "Song", before: null, after: "https://example.com/song" },
        ]}
      />,
    );
    const [from, song] = screen.getAllByTestId("change");
    expect(from!.textContent).toContain("nothing");
    expect(within(from!).queryByTestId("change-after")).toBeNull();
    expect(within(song!).queryByTestId("change-before")).toBeNull();
    expect(within(song!).getByTestId("change-after").textContent).toBe("https://example.com/song");
  });

  it("shows a long text as two whole blocks, with the words taken out and put in marked", () => {
    const before = "Every day with you is my favourite day, and every night I dream of the sea.";
    const after = "Every day with you is my favourite day, and every night I dream of you.";
    const { container } = render(<FieldChanges changes={[{ field: "message", label: "Message", before, after }]} />);
    expect(screen.getByTestId("change-before").textContent).toBe(before);
    expect(screen.getByTestId("change-after").textContent).toBe(after);
    expect([...container.querySelectorAll("del")].map((d) => d.textContent)).toEqual(["the sea."]);
    expect([...container.querySelectorAll("ins")].map((d) => d.textContent)).toEqual(["you."]);
  });

  it("keeps the lines of a message with several", () => {
    render(
      <FieldChanges changes={[{ field: "message", label: "Message", before: "one\ntwo", after: "one\nthree" }]} />,
    );
    expect(screen.getByTestId("change-after").textContent).toBe("one\nthree");
  });

  it("says so when nothing changed", () => {
    render(<FieldChanges changes={[]} />);
    expect(screen.getByText("It changed no field.")).toBeTruthy();
  });
});
