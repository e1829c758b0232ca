import { LOCAL_CREDENTIALS } from './services.ts';

/**
 * The local stand-in for DynamoDB global tables' replication: every write to a replica (read
 * from its DynamoDB Local stream) is applied to the other replicas, in order, within a fraction
 * of a second. A region that cannot be reached (a test's outage) keeps its backlog until it can.
 *
 * Simplifications, against AWS's multi-Region eventual consistency: each record is applied as
 * the whole item (its new image, or a delete), and a write made by the replicator is recognised
 * in the target's stream and not sent back. Two regions writing the same item within one poll of
 * each other may keep different versions locally, where AWS settles on the last writer; the
 * gateway avoids such writes (each region writes its own counter items).
 */
export interface Replicator {
  /** Replicates a table (the same name in each region) between the given regions. */
  add(table: string, regions: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;
type StreamRecord = {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  dynamodb: { Keys: Json; NewImage?: Json; SequenceNumber: string };
};

/** Attribute maps in a canonical form (sorted names), to compare images. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Json).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );

export function startReplicator(options: {
  /** DynamoDB Local (or what stands in front of it). */
  endpoint: string;
  intervalMs?: number;
  log?: (line: string) => void;
}): Replicator {
  const intervalMs = options.intervalMs ?? 200;
  /** One DynamoDB Local JSON call, signed for a region (DynamoDB Local keeps one database per region). */
  const call = async (region: string, target: string, input: Json): Promise<Json> => {
    const res = await fetch(options.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': target,
        authorization: `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20000101/${region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(input),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${target} in ${region}: ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Json;
  };
  const ddb = (region: string, op: string, input: Json) => call(region, `DynamoDB_20120810.${op}`, input);
  const streams = (region: string, op: string, input: Json) =>
    call(region, `DynamoDBStreams_20120810.${op}`, input);

  interface Source {
    table: string;
    region: string;
    streamArn?: string;
    /** The next iterator of each open shard. */
    shards: Map<string, string | null>;
    /** The sequence number of the last record read, per shard. */
    lastRead: Map<string, string>;
    /** Records read, not yet applied, per target region (every other region of the table), in order. */
    backlog: Map<string, StreamRecord[]>;
  }
  const sources: Source[] = [];
  /**
   * Writes the replicator made, by `${table}|${region}|${key}`: their records are not sent back.
   * A write that changed nothing makes no record, so an entry is forgotten after a while.
   */
  const echoes = new Map<string, { image: string; at: number }[]>();
  const ECHO_MS = 10_000;

  const echoKey = (table: string, region: string, keys: Json) => `${table}|${region}|${canonical(keys)}`;
  const imageOf = (r: StreamRecord) => (r.eventName === 'REMOVE' ? 'REMOVE' : canonical(r.dynamodb.NewImage));

  async function read(s: Source) {
    s.streamArn ??= String(
      ((await ddb(s.region, 'DescribeTable', { TableName: s.table })).Table as Json).LatestStreamArn,
    );
    const described = (await streams(s.region, 'DescribeStream', { StreamArn: s.streamArn }))
      .StreamDescription as { Shards?: { ShardId: string }[] };
    for (const shard of described.Shards ?? []) {
      if (s.shards.has(shard.ShardId)) continue;
      // Past the last record read, or from the oldest one. DynamoDB Local refuses an iterator
      // taken while its shard was empty once records arrive (TrimmedDataAccessException): such
      // a shard's iterator is taken again on the next round.
      const last = s.lastRead.get(shard.ShardId);
      const it = await streams(s.region, 'GetShardIterator', {
        StreamArn: s.streamArn,
        ShardId: shard.ShardId,
        ...(last
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      });
      s.shards.set(shard.ShardId, String(it.ShardIterator));
    }
    for (const [id, iterator] of s.shards) {
      if (!iterator) continue;
      let out: Json;
      try {
        out = await streams(s.region, 'GetRecords', { ShardIterator: iterator });
      } catch (error) {
        if (!/TrimmedDataAccess|ExpiredIterator/.test(String(error))) throw error;
        s.shards.delete(id);
        continue;
      }
      s.shards.set(id, (out.NextShardIterator as string | undefined) ?? null);
      for (const r of (out.Records ?? []) as StreamRecord[]) {
        s.lastRead.set(id, r.dynamodb.SequenceNumber);
        const k = echoKey(s.table, s.region, r.dynamodb.Keys);
        const mine = echoes.get(k)?.filter((e) => Date.now() - e.at < ECHO_MS);
        if (mine) echoes.set(k, mine);
        const at = mine?.findIndex((e) => e.image === imageOf(r)) ?? -1;
        if (mine && at >= 0) {
          mine.splice(at, 1);
          if (mine.length === 0) echoes.delete(k);
          continue;
        }
        for (const queue of s.backlog.values()) queue.push(r);
      }
    }
  }

  async function apply(s: Source) {
    for (const [target, queue] of s.backlog) {
      for (let r = queue[0]; r !== undefined; r = queue[0]) {
        const k = echoKey(s.table, target, r.dynamodb.Keys);
        const expected = [...(echoes.get(k) ?? []), { image: imageOf(r), at: Date.now() }];
        echoes.set(k, expected);
        try {
          if (r.eventName === 'REMOVE')
            await ddb(target, 'DeleteItem', { TableName: s.table, Key: r.dynamodb.Keys });
          else await ddb(target, 'PutItem', { TableName: s.table, Item: r.dynamodb.NewImage });
        } catch (error) {
          expected.pop();
          if (expected.length === 0) echoes.delete(k);
          throw error;
        }
        queue.shift();
      }
    }
  }

  let stopped = false;
  const lastError = new Map<Source, string>();
  const loop = (async () => {
    while (!stopped) {
      for (const s of sources) {
        try {
          await read(s);
          await apply(s);
        } catch (error) {
          // A region that cannot be reached keeps its backlog (as a global table's replication does).
          const line = `replication of ${s.table} from ${s.region}: ${String(error)}`;
          // (Not while stopping: the services may be gone before the loop's last round ends.)
          if (!stopped && line !== lastError.get(s)) options.log?.(line);
          lastError.set(s, line);
        }
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();

  return {
    async add(table, regions) {
      for (const region of regions) {
        sources.push({
          table,
          region,
          shards: new Map(),
          lastRead: new Map(),
          backlog: new Map(regions.filter((r) => r !== region).map((r) => [r, []])),
        });
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
