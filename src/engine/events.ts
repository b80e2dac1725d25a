import type { Replica } from './replica';

/** Image name replicas report: they run a command, not an image. */
export const RUNTIME_IMAGE = 'portier/runtime';

/** One event in the shape of Docker's `/events` stream, legacy fields included. */
export interface DockerEvent {
  status: string;
  id: string;
  from: string;
  Type: 'container';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

export function containerEvent(r: Replica, action: string, extra: Record<string, string> = {}, now = Date.now()): DockerEvent {
  return {
    status: action,
    id: r.id,
    from: RUNTIME_IMAGE,
    Type: 'container',
    Action: action,
    Actor: { ID: r.id, Attributes: { ...r.labels, ...extra, image: RUNTIME_IMAGE, name: r.name } },
    scope: 'local',
    time: Math.floor(now / 1000),
    timeNano: now * 1e6,
  };
}
