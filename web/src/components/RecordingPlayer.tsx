/**
 * A call recording, playing from the click that opened it: the audio element's src is the
 * audited play route (GET /api/calls/:id/recording, which checks the role, writes the audit
 * row and redirects to a short-lived signed link serving byte ranges), so the browser starts
 * on the first bytes and seeks with Range requests. The waveform comes from the stored peaks
 * (…/recording/meta), fetched alongside, so nothing waits for it; a click or the arrow keys on
 * it seek.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { t, tMaybe } from '../i18n';
import { useFormat } from '../session';
import { drawWaveform, seekTime, type Peaks } from './waveform';

interface Meta {
  duration: number;
  peaks: Peaks;
}

const COLORS = { played: '#2456d6', rest: '#c5cde0' };
const STEP_SECONDS = 5;

export function RecordingPlayer(props: { callId: string; label: ComponentChildren; onClose(): void }) {
  const f = useFormat();
  const audio = useRef<HTMLAudioElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [time, setTime] = useState(0);
  const [paused, setPaused] = useState(true);
  const src = `/api/calls/${encodeURIComponent(props.callId)}/recording`;

  useEffect(() => {
    const ctl = new AbortController();
    api<Meta>(`${src}/meta`, { signal: ctl.signal }).then(setMeta, (e: unknown) => {
      // Why the recording cannot be played, in the server's words (its stable code).
      if ((e as Error).name !== 'AbortError') setError(e instanceof ApiError ? e.code : 'CLIENT');
    });
    // Autoplay may be refused outside a click; the play button is there for that case.
    audio.current?.play().catch(() => undefined);
    return () => ctl.abort();
  }, [src]);

  const duration = meta?.duration ?? (audio.current && Number.isFinite(audio.current.duration) ? audio.current.duration : 0);

  useEffect(() => {
    if (meta && canvas.current) drawWaveform(canvas.current, meta.peaks, duration > 0 ? time / duration : 0, COLORS);
  }, [meta, time, duration]);

  const seek = (to: number) => {
    const el = audio.current;
    if (!el || !(duration > 0)) return;
    el.currentTime = Math.min(duration, Math.max(0, to));
    setTime(el.currentTime);
  };

  return (
    <div class="player" role="region" aria-label={t('calls.player')} data-testid="player">
      <span class="player-label">{props.label}</span>
      <audio
        ref={audio}
        src={src}
        autoplay
        preload="auto"
        onPlay={() => setPaused(false)}
        onPause={() => setPaused(true)}
        onEnded={() => setPaused(true)}
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onError={() => setError((prev) => prev ?? 'MEDIA')}
      />
      {error ? (
        <span class="muted" data-testid="player-error">
          {tMaybe(`player.error.${error}`, t('calls.recordingFailed'))}
        </span>
      ) : (
        <>
          <button
            type="button"
            class="btn btn-play"
            aria-label={paused ? t('player.play') : t('player.pause')}
            onClick={() => {
              const el = audio.current;
              if (!el) return;
              if (el.paused) void el.play().catch(() => undefined);
              else el.pause();
            }}
          >
            {paused ? '▶' : '❚❚'}
          </button>
          <canvas
            ref={canvas}
            class="waveform"
            role="slider"
            tabIndex={0}
            aria-label={t('player.seek')}
            aria-valuemin={0}
            aria-valuemax={Math.round(duration)}
            aria-valuenow={Math.round(time)}
            aria-valuetext={f.duration(time)}
            data-testid="waveform"
            onClick={(e) => {
              const r = e.currentTarget.getBoundingClientRect();
              seek(seekTime(e.clientX - r.left, r.width, duration));
            }}
            onKeyDown={(e) => {
              const to = { ArrowLeft: time - STEP_SECONDS, ArrowRight: time + STEP_SECONDS, Home: 0, End: duration }[e.key];
              if (to === undefined) return;
              e.preventDefault();
              seek(to);
            }}
          />
          <span class="player-time" data-testid="player-time">
            {f.duration(time)} / {f.duration(duration)}
          </span>
        </>
      )}
      <button type="button" class="btn btn-ghost" onClick={props.onClose} aria-label={t('common.close')}>
        ✕
      </button>
    </div>
  );
}
