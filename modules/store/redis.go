package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is the Store shared by several milter instances. Every operation is
// one round trip (a server-side script run with EVALSHA, or a plain
// command) and is bounded by Config.Timeout. All keys of one series/key
// pair carry the hash tag {series:key}, so the scripts work on Redis
// Cluster too. Every key has a TTL, except monotonic counters.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
	to     time.Duration
	errs   atomic.Uint64
}

// Scripts get their keys in KEYS and never build key names themselves, as
// Redis Cluster requires.
var (
	// KEYS[1] current bucket, KEYS[2..] buckets to sum; ARGV count, ttl ms.
	addCountScript = redis.NewScript(`
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local s = 0
if #KEYS > 1 then
  for _, v in ipairs(redis.call('MGET', unpack(KEYS, 2))) do
    if v then s = s + tonumber(v) end
  end
end
return s`)
	// KEYS[1] gauge; ARGV delta, ttl ms. Floors at zero; zero deletes.
	gaugeScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if v <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v`)
)

// NewRedis connects to the Redis named by cfg: Sentinel when MasterName is
// set, Cluster when Cluster is set or several addresses are given, else a
// single server. It does not wait for the server to be reachable.
func NewRedis(cfg Config) (*Redis, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(cfg.Addrs) == 0 {
		return nil, fmt.Errorf("redis store: no addresses configured")
	}
	to := cfg.Timeout
	// NewUniversalClient picks Sentinel, Cluster or a single server from
	// the options as described above; Cluster alone must not turn a
	// Sentinel set-up into a Sentinel-managed cluster.
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: cfg.Addrs, MasterName: cfg.MasterName, IsClusterMode: cfg.Cluster && cfg.MasterName == "",
		Password: cfg.Password, SentinelPassword: cfg.Password, DB: cfg.DB,
		DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
		MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return &Redis{c: c, prefix: cfg.KeyPrefix, now: cfg.Now, to: to}, nil
}

// op bounds ctx by the configured timeout.
func (r *Redis) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, r.to)
}

func (r *Redis) fail(op string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	r.errs.Add(1)
	return &UnavailableError{Op: "redis " + op, Err: err}
}

// bucketKey names one bucket: prefix:{series:key}:index.
func (r *Redis) bucketKey(series, key string, b int64) string {
	return r.prefix + ":{" + series + ":" + key + "}:" + strconv.FormatInt(b, 10)
}

// bucketKeys names buckets now-lo down to now-hi.
func (r *Redis) bucketKeys(series, key string, now int64, lo, hi int) []string {
	keys := make([]string, 0, hi-lo+1)
	for v := lo; v <= hi; v++ {
		keys = append(keys, r.bucketKey(series, key, now-int64(v)))
	}
	return keys
}

// AddWindowed implements Store.
func (r *Redis) AddWindowed(ctx context.Context, series, key string, count int64, w Window) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", series, err)
	}
	now := w.bucket(r.now())
	ctx, cancel := r.op(ctx)
	defer cancel()
	keys := []string{r.bucketKey(series, key, now)}
	return r.fail("add", addCountScript.Run(ctx, r.c, keys, count, bucketTTL(w)).Err())
}

// bucketTTL keeps a bucket until it has left the last window.
func bucketTTL(w Window) int64 {
	return (w.Interval * time.Duration(w.Windows+1)).Milliseconds()
}

// AddAndCount implements Store.
func (r *Redis) AddAndCount(ctx context.Context, series, key string, count int64, w Window, startv, endv int) (int64, error) {
	if err := w.Validate(); err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	now := w.bucket(r.now())
	lo, hi := w.span(startv, endv)
	keys := append([]string{r.bucketKey(series, key, now)}, r.bucketKeys(series, key, now, lo, hi)...)
	ctx, cancel := r.op(ctx)
	defer cancel()
	n, err := addCountScript.Run(ctx, r.c, keys, count, bucketTTL(w)).Int64()
	return n, r.fail("add and count", err)
}

// CountWindowed implements Store.
func (r *Redis) CountWindowed(ctx context.Context, series, key string, w Window, startv, endv int) (int64, error) {
	if err := w.Validate(); err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	lo, hi := w.span(startv, endv)
	if lo > hi {
		return 0, nil
	}
	ctx, cancel := r.op(ctx)
	defer cancel()
	vals, err := r.c.MGet(ctx, r.bucketKeys(series, key, w.bucket(r.now()), lo, hi)...).Result()
	if err != nil {
		return 0, r.fail("count", err)
	}
	var sum int64
	for _, v := range vals {
		if s, ok := v.(string); ok {
			n, _ := strconv.ParseInt(s, 10, 64)
			sum += n
		}
	}
	return sum, nil
}

// RemoveWindowed implements Store.
func (r *Redis) RemoveWindowed(ctx context.Context, series, key string, w Window) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", series, err)
	}
	ctx, cancel := r.op(ctx)
	defer cancel()
	keys := r.bucketKeys(series, key, w.bucket(r.now()), 0, w.Windows-1)
	return r.fail("remove", r.c.Del(ctx, keys...).Err())
}

func (r *Redis) gaugeKey(cache, key string) string {
	return r.prefix + ":gauge:{" + cache + ":" + key + "}"
}

// GaugeAdd implements Store. Gauge.MaxElems is not enforced in Redis: keys
// go away through their TTL, and the server's maxmemory policy bounds the
// rest.
func (r *Redis) GaugeAdd(ctx context.Context, cache, key string, delta int64, g Gauge) (int64, error) {
	if g.TTL <= 0 {
		return 0, fmt.Errorf("gauge cache %s: ttl %v must be positive", cache, g.TTL)
	}
	ctx, cancel := r.op(ctx)
	defer cancel()
	n, err := gaugeScript.Run(ctx, r.c, []string{r.gaugeKey(cache, key)}, delta, max(g.TTL.Milliseconds(), 1)).Int64()
	return n, r.fail("gauge add", err)
}

// GaugeGet implements Store.
func (r *Redis) GaugeGet(ctx context.Context, cache, key string) (int64, error) {
	ctx, cancel := r.op(ctx)
	defer cancel()
	n, err := r.c.Get(ctx, r.gaugeKey(cache, key)).Int64()
	return n, r.fail("gauge get", err)
}

// GaugeRemove implements Store.
func (r *Redis) GaugeRemove(ctx context.Context, cache, key string) error {
	ctx, cancel := r.op(ctx)
	defer cancel()
	return r.fail("gauge remove", r.c.Del(ctx, r.gaugeKey(cache, key)).Err())
}

func (r *Redis) counterKey(name string) string { return r.prefix + ":counter:{" + name + "}" }

// CounterAdd implements Store.
func (r *Redis) CounterAdd(ctx context.Context, name string, delta int64) (int64, error) {
	ctx, cancel := r.op(ctx)
	defer cancel()
	n, err := r.c.IncrBy(ctx, r.counterKey(name), delta).Result()
	return n, r.fail("counter add", err)
}

// CounterGet implements Store.
func (r *Redis) CounterGet(ctx context.Context, name string) (int64, error) {
	ctx, cancel := r.op(ctx)
	defer cancel()
	n, err := r.c.Get(ctx, r.counterKey(name)).Int64()
	return n, r.fail("counter get", err)
}

// CounterReset implements Store.
func (r *Redis) CounterReset(ctx context.Context, name string) error {
	ctx, cancel := r.op(ctx)
	defer cancel()
	return r.fail("counter reset", r.c.Set(ctx, r.counterKey(name), 0, 0).Err())
}

// CounterDelete implements Store.
func (r *Redis) CounterDelete(ctx context.Context, name string) error {
	ctx, cancel := r.op(ctx)
	defer cancel()
	return r.fail("counter delete", r.c.Del(ctx, r.counterKey(name)).Err())
}

// Stats implements Store.
func (r *Redis) Stats() Stats { return Stats{Errors: r.errs.Load()} }

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }
