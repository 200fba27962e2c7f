import type { FieldChange } from "../types/admin";

/** The page's fields as moderators read them, with the API's name alongside. */
const FIELD_LABELS: Record<string, string> = {
  slug: "Address",
  title: "Title",
  message: "Message",
  sender_name: "From",
  recipient_name: "To",
  template_id: "Design",
  song_url: "Song",
  reveal_at: "Opening time",
  pin: "PIN",
  photo: "Photo",
  notify_email: "Notification address",
  opened: "Opened",
  answer: "Reply",
  reports: "Reports",
  taken_down: "Taken down",
};

/** An event's changes, labelled for the shared change list. */
export function labelChanges(changes: FieldChange[]) {
  return changes.map((c) => ({ ...c, label: FIELD_LABELS[c.field] ?? c.field }));
}
