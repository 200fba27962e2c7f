import { PhotoPicker, PinField, RevealField, SongField } from "@/features/pages/components/moment-fields";

type MakeItSpecialProps = {
  open: boolean;
  onToggle: (open: boolean) => void;
  photo: File | null;
  onPhotoChange: (photo: File | null) => void;
  song: string;
  onSongChange: (value: string) => void;
  revealAt: string;
  onRevealAtChange: (value: string) => void;
  pin: string;
  onPinChange: (value: string) => void;
  errors: Partial<Record<"song_url" | "reveal_at" | "pin", string>>;
};

/** The optional extras of a page, folded away until wanted: a photo, a song, an opening time, a PIN. */
export function MakeItSpecial(props: MakeItSpecialProps) {
  const { open, onToggle, errors } = props;
  return (
    <details
      className="special"
      open={open}
      onToggle={(event) => onToggle(event.currentTarget.open)}
      data-testid="make-it-special"
    >
      <summary className="special-summary" data-testid="make-it-special-toggle">
        Make it special <span className="field-optional">(optional)</span>
      </summary>
      <p className="special-lead">Add a photo and your song, choose when it opens, or keep it behind a PIN.</p>
      <PhotoPicker photo={props.photo} onChange={props.onPhotoChange} />
      <SongField value={props.song} onChange={props.onSongChange} error={errors.song_url} />
      <RevealField value={props.revealAt} onChange={props.onRevealAtChange} error={errors.reveal_at} />
      <PinField value={props.pin} onChange={props.onPinChange} error={errors.pin} />
    </details>
  );
}
