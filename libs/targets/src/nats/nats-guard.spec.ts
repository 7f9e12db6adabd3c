import { EMPTY_SUBJECT, eventSeqOf, messageId, shouldPublish, SubjectVersions } from './nats-guard';

describe('nats seq guard', () => {
  it('publishes only newer changes, or equal ones when dead letters are retried', () => {
    expect(shouldPublish(EMPTY_SUBJECT, 1, false)).toBe(true);
    expect(shouldPublish({ streamSeq: 9, seq: null }, 1, false)).toBe(true); // not an event: nothing to compare with
    expect(shouldPublish({ streamSeq: 9, seq: 5 }, 6, false)).toBe(true);
    expect(shouldPublish({ streamSeq: 9, seq: 5 }, 5, false)).toBe(false);
    expect(shouldPublish({ streamSeq: 9, seq: 5 }, 4, false)).toBe(false);
    expect(shouldPublish({ streamSeq: 9, seq: 5 }, 5, true)).toBe(true);
    expect(shouldPublish({ streamSeq: 9, seq: 5 }, 4, true)).toBe(false);
  });

  it('de-duplicates by event id, and a republish at the same seq by the message it follows', () => {
    expect(messageId('r:5:abc', undefined, 5)).toBe('r:5:abc');
    expect(messageId('r:5:abc', { streamSeq: 3, seq: 4 }, 5)).toBe('r:5:abc');
    expect(messageId('r:5:abc', { streamSeq: 12, seq: 5 }, 5)).toBe('r:5:abc:r12');
  });

  it("reads a stored event's seq, and nothing from anything else", () => {
    expect(eventSeqOf(Buffer.from('{"v":1,"seq":42}'))).toBe(42);
    expect(eventSeqOf(Buffer.from('{"seq":"42"}'))).toBeNull();
    expect(eventSeqOf(Buffer.from('not json'))).toBeNull();
    expect(eventSeqOf(Buffer.from('null'))).toBeNull();
  });

  it('remembers the newest version per subject, and forgets the least recently written beyond its capacity', () => {
    const versions = new SubjectVersions(2);
    versions.set('a', { streamSeq: 5, seq: 50 });
    versions.set('a', { streamSeq: 4, seq: 40 }); // an older ack arriving late
    expect(versions.get('a')).toEqual({ streamSeq: 5, seq: 50 });
    versions.set('b', { streamSeq: 6, seq: 1 });
    versions.set('a', { streamSeq: 7, seq: 51 }); // a written again: b is now the oldest
    versions.set('c', { streamSeq: 8, seq: 1 });
    expect([versions.get('a'), versions.get('b'), versions.get('c')]).toEqual([{ streamSeq: 7, seq: 51 }, undefined, { streamSeq: 8, seq: 1 }]);
    versions.forget('a');
    expect(versions.get('a')).toBeUndefined();
  });
});
