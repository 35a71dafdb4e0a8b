import type { Deployment } from '../api';

/** Bytes as people read them: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** What a deployment of an uploaded folder came from: "Uploaded folder · 12 files, 3.4 KiB · prebuilt". */
export function uploadSummary(d: Deployment): string {
  const u = d.upload;
  if (!u) return '';
  const parts = ['Uploaded folder', `${u.files} ${u.files === 1 ? 'file' : 'files'}, ${formatBytes(u.bytes)}`];
  if (u.prebuilt) parts.push('prebuilt');
  return parts.join(' · ');
}

/**
 * A badge saying the source is an uploaded folder (`skydeploy deploy DIR`), and whether the
 * checkout it came from had uncommitted changes: the commit shown is then not all of it.
 */
export function UploadBadge({ d }: { d: Deployment }) {
  const u = d.upload;
  if (!u) return null;
  return (
    <span className="inline-flex items-center gap-1" data-testid="upload-source">
      <span className="rounded bg-violet-100 px-1.5 py-0.5 text-violet-800" title={uploadSummary(d)}>
        {u.prebuilt ? 'Folder (prebuilt)' : 'Folder'}
      </span>
      {u.git?.dirty && (
        <span className="rounded bg-amber-100 px-1.5 py-0.5 text-amber-800" title="The checkout had uncommitted changes when it was uploaded" data-testid="upload-dirty">
          uncommitted changes
        </span>
      )}
    </span>
  );
}
