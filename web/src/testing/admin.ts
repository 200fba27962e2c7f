/** The console's sample answers, as the API sends them. */

export const samplePageSummary = {
  slug_key: "aliceandbob",
  slug: "AliceAndBob",
  page_id: 2,
  title: "Still mine",
  state: "live",
  created_at: "2026-02-14T08:00:00Z",
  updated_at: "2026-02-14T09:30:00Z",
  taken_down_at: null,
  reports: 1,
  last_stream_sequence: 12,
};

function event(streamSequence: number, sequence: number, type: string, extra: Record<string, unknown> = {}) {
  return {
    stream_sequence: streamSequence,
    sequence,
    page_id: 2,
    event_type: type,
    event_version: "1.0",
    timestamp: "2026-02-14T08:00:00Z",
    event_id: `01JKZEVENT${streamSequence}`,
    command_id: `01JKZCOMMAND${streamSequence}`,
    changed_fields: [],
    erased: false,
    payload: { [type]: {} },
    changes: [],
    ...extra,
  };
}

export const sampleEvents = {
  slug: "aliceandbob",
  events: [
    event(2, 1, "PageCreated", {
      changed_fields: ["title", "message"],
      changes: [
        { field: "title", before: null, after: "Be mine" },
        { field: "message", before: null, after: "Every day with you is my favourite day." },
      ],
    }),
    event(5, 2, "PageUpdated", {
      timestamp: "2026-02-14T09:30:00Z",
      changed_fields: ["title"],
      changes: [{ field: "title", before: "Be mine", after: "Still mine" }],
    }),
    event(12, 3, "PageReported", { erased: true, payload: null, page_id: 0, event_version: "", event_id: "" }),
  ],
};

export const sampleAsOf = {
  slug: "aliceandbob",
  at: "2",
  events: [sampleEvents.events[0]],
  page: {
    slug: "AliceAndBob",
    title: "Be mine",
    message: "Every day with you is my favourite day.",
    sender_name: "Bob",
    recipient_name: "Alice",
    template_id: "classic",
    song_url: null,
    reveal_at: null,
    pin: false,
    photo: null,
    notify_email: null,
    opened: false,
    answer: null,
    reports: 0,
    taken_down: null,
  },
};

export const sampleReported = {
  slug_key: "aliceandbob",
  slug: "AliceAndBob",
  page_id: 2,
  title: "Still mine",
  reports: 2,
  reasons: "spam,hate",
  first_reported_at: "2026-02-14T10:00:00Z",
  last_reported_at: "2026-02-14T11:00:00Z",
  taken_down_at: null,
  last_moderated_at: null,
  open: true,
};

export const sampleStoredMessage = {
  stream_sequence: 3,
  subject: "events.page.aliceandbob",
  stored_at: "2026-02-14T08:00:00Z",
  headers: [{ name: "Nats-Msg-Id", value: "01JKZ" }],
  opened: true,
  erased: false,
  commit: { events: [{ payload: { PageCreated: { title: "Be mine", edit_token_hash: "[redacted]" } } }] },
};

export const sampleStreams = {
  streams: [
    {
      name: "EVENTS",
      subjects: ["events.>"],
      messages: 12,
      bytes: 4096,
      first_sequence: 1,
      last_sequence: 12,
      last_at: "2026-02-14T11:00:00Z",
      consumers: [
        {
          name: "projector-main",
          acknowledged_through: 12,
          delivered_through: 12,
          pending: 0,
          unacknowledged: 0,
          redelivered: 0,
          waiting: 1,
        },
      ],
    },
  ],
};

export const sampleLag = {
  consumers: [
    {
      stream: "EVENTS",
      consumer: "projector-main",
      acknowledged_through: 9,
      last_sequence: 12,
      lag_events: 3,
      lag_seconds: 4.5,
      oldest_unapplied_at: null,
    },
  ],
  workers: [
    {
      role: "projector",
      read_model: "main",
      instance: "k3j9x2qa",
      heartbeat_at: "2026-02-14T11:00:00Z",
      heartbeat_age_seconds: 1.2,
      last_commit_at: "2026-02-14T10:59:58Z",
      ready: true,
      stuck: false,
      reason: null,
      consumers: [
        {
          consumer: "projector-main",
          stream: "EVENTS",
          position: 9,
          last_sequence: 12,
          lag_events: 3,
          lag_seconds: 4.5,
        },
      ],
    },
  ],
};

export const sampleParked = {
  consumer: "projector-main",
  stream: "EVENTS",
  stream_sequence: 17,
  subject: "events.page.aliceandbob",
  error: "unreadable payload",
  attempts: 5,
  parked_at: "2026-02-14T11:00:00Z",
  state: "parked",
  decided_by: null,
  decision_reason: null,
  decided_at: null,
};
