/**
 * The in-process pub/sub by task id: who hears a publish, how often, and what it tracks of
 * the tasks being watched (the cross-instance listener resyncs exactly those).
 */
import { describe, expect, it } from 'vitest';
import { createTaskEvents } from '../../src/tasks/events.js';
import { createTask, type Task } from '../../src/tasks/task.js';

const t0 = new Date('2026-11-05T10:00:00.000Z');
const base = createTask({ id: 'a', tenant: 't', kind: 'k', input: null, idempotencyKey: null, maxAttempts: 1 }, t0);
const row = (id: string, revision: number): Task => ({ ...base, id, revision });
const at = (id: string, kind: string, feedPos: number): Task => ({ ...base, id, kind, feedPos, revision: feedPos });

describe('task events', () => {
  it('a publish reaches only the listeners of its own task', () => {
    const events = createTaskEvents();
    const heardA: number[] = [];
    const heardB: number[] = [];
    events.subscribe('a', (task) => heardA.push(task.revision));
    events.subscribe('b', (task) => heardB.push(task.revision));
    events.publish(row('a', 2));
    expect(heardA).toEqual([2]);
    expect(heardB).toEqual([]);
  });

  it('a revision announced twice, or after a newer one, is delivered once, in order', () => {
    const events = createTaskEvents();
    const heard: number[] = [];
    events.subscribe('a', (task) => heard.push(task.revision));
    events.publish(row('a', 2));
    events.publish(row('a', 2));
    events.publish(row('a', 4));
    events.publish(row('a', 3));
    events.publish(row('a', 5));
    expect(heard).toEqual([2, 4, 5]);
  });

  it('a publish nobody hears is not remembered: a later listener gets that revision', () => {
    const events = createTaskEvents();
    events.publish(row('a', 2));
    expect(events.isWatched('a')).toBe(false);
    const heard: number[] = [];
    events.subscribe('a', (task) => heard.push(task.revision));
    events.publish(row('a', 2));
    expect(heard).toEqual([2]);
  });

  it('a listener that throws is reported, and the other listeners still hear the change', () => {
    const reported: unknown[] = [];
    const events = createTaskEvents((error) => reported.push(error));
    const heard: string[] = [];
    const boom = new Error('listener broke');
    events.subscribe('a', () => heard.push('first'));
    events.subscribe('a', () => {
      throw boom;
    });
    events.subscribe('a', () => heard.push('third'));
    events.publish(row('a', 2));
    expect(heard).toEqual(['first', 'third']);
    expect(reported).toEqual([boom]);
  });

  it('without an error handler, a throwing listener neither stops the others nor the publisher', () => {
    const events = createTaskEvents();
    const heard: number[] = [];
    events.subscribe('a', () => {
      throw new Error('listener broke');
    });
    events.subscribe('a', (task) => heard.push(task.revision));
    expect(() => events.publish(row('a', 2))).not.toThrow();
    expect(heard).toEqual([2]);
  });

  it('a listener that leaves during a publish does not stop the others from hearing it', () => {
    const events = createTaskEvents();
    const heard: string[] = [];
    const stopFirst = events.subscribe('a', () => {
      heard.push('first');
      stopSecond();
    });
    const stopSecond = events.subscribe('a', () => heard.push('second'));
    events.publish(row('a', 2));
    expect(heard).toEqual(['first', 'second']);
    stopFirst();
    expect(events.listenerCount()).toBe(0);
  });

  it('stopping twice counts once, and leaves the other listeners of the task in place', () => {
    const events = createTaskEvents();
    const heard: number[] = [];
    const stop = events.subscribe('a', () => {});
    events.subscribe('a', (task) => heard.push(task.revision));
    expect(events.listenerCount()).toBe(2);
    stop();
    stop();
    expect(events.listenerCount()).toBe(1);
    expect(events.isWatched('a')).toBe(true);
    events.publish(row('a', 2));
    expect(heard).toEqual([2]);
  });

  it('tracks which tasks are watched, with the newest revision each has heard (0 before any)', () => {
    const events = createTaskEvents();
    const stopA = events.subscribe('a', () => {});
    const stopB = events.subscribe('b', () => {});
    events.publish(row('a', 3));
    expect(new Map(events.watched())).toEqual(
      new Map([
        ['a', 3],
        ['b', 0],
      ]),
    );
    expect(events.isWatched('a')).toBe(true);
    expect(events.isWatched('c')).toBe(false);
    stopA();
    expect(events.isWatched('a')).toBe(false);
    expect([...events.watched()]).toEqual([['b', 0]]);
    stopB();
    expect([...events.watched()]).toEqual([]);
    expect(events.listenerCount()).toBe(0);
  });

  it('a feed listener of some kinds hears only those kinds; an announcement reaches every listener once', () => {
    const events = createTaskEvents();
    const heard: string[] = [];
    const stopSome = events.subscribeFeed('t', (position, task) => heard.push(`some:${position}:${task?.kind ?? '-'}`), ['a', 'b', 'a']);
    const stopAll = events.subscribeFeed('t', (position, task) => heard.push(`all:${position}:${task?.kind ?? '-'}`));
    events.publish(at('x', 'a', 1));
    events.publish(at('y', 'c', 2));
    events.publish({ ...at('z', 'b', 3), tenant: 'other' });
    events.announceFeed('t', 5);
    expect(heard).toEqual(['all:1:a', 'some:1:a', 'all:2:c', 'some:5:-', 'all:5:-']);
    stopSome();
    stopAll();
    expect(events.listenerCount()).toBe(0);
    expect(events.isFeedWatched('t')).toBe(false);
  });

  it('a feed chain goes on while positions come one after another with their rows, and breaks on a jump or an announcement', () => {
    const events = createTaskEvents();
    const chains: number[] = [];
    const stop = events.subscribeFeed('t', (_position, _task, chain) => chains.push(chain));
    expect(events.joinFeed('t', 10)).not.toBeNull();
    const joined = events.joinFeed('t', 10);
    expect(events.joinFeed('t', 9)).toBeNull();
    events.publish(at('x', 'a', 11));
    events.publish(at('y', 'a', 12));
    // A position again (an instance's notice of a row already published): the chain holds.
    events.publish(at('x', 'a', 11));
    expect(events.joinFeed('t', 12)).toBe(joined);
    events.publish(at('z', 'a', 14));
    events.publish(at('w', 'a', 15));
    events.announceFeed('t', 16);
    expect(chains.slice(0, 3)).toEqual([joined, joined, joined]);
    expect(new Set(chains.slice(3)).size).toBe(2);
    expect(chains[3]).not.toBe(joined);
    expect(events.joinFeed('t', 15)).toBeNull();
    expect(events.joinFeed('t', 16)).toBe(chains[5]);
    stop();
    expect(events.joinFeed('t', 16)).toBeNull();
  });

  it('forgets a task\'s newest revision once its last listener leaves: a later listener hears from revision 1 on', () => {
    const events = createTaskEvents();
    events.subscribe('a', () => {})();
    const stop = events.subscribe('a', () => {});
    events.publish(row('a', 3));
    stop();
    const heard: number[] = [];
    const again = events.subscribe('a', (task) => heard.push(task.revision));
    expect([...events.watched()]).toEqual([['a', 0]]);
    events.publish(row('a', 2));
    expect(heard).toEqual([2]);
    again();
    expect(events.listenerCount()).toBe(0);
  });
});
