"""The hub.yaml `hub init` writes: every setting a county fills in, each with a comment saying what it is.

Every department system is listed, disabled until its address is filled in, so county IT edits a
file instead of writing one from the README; ``tests/cli/test_init_and_synth.py`` checks that it
loads, that every key has a comment, and that every option a connector declares is shown.
"""

STARTER_CONFIG = """\
# gridhub configuration. Relative paths and sqlite:/// URLs resolve against this file's folder.
# For each department system: fill in its settings, set `enabled: true`, then run
#   hub check SOURCE  ->  hub discover SOURCE  ->  hub sync SOURCE   (or `hub sync --all`)

database: sqlite:///var/hub.db  # the unified store: any SQLAlchemy URL, e.g. postgresql+psycopg://hub@db/hub (env HUB_DATABASE overrides)
landing: var/landing            # where the stages hand data over; raw extracts hold personal data (env HUB_LANDING overrides)
landing_keep_days: 7            # run folders in the landing zone older than this many days are deleted
secret_key_file: var/hub.key    # keys the blind index and encryption of IDs and phones: back it up (or set env HUB_SECRET_KEY)
cipher: aes-gcm-siv             # display copies of IDs and phones: aes-gcm-siv, or sm4 (SM4 + SM3, 商用密码); `hub keys rotate-secret --cipher` moves a store

api:                            # the read API that `hub serve` starts
  host: 127.0.0.1               # the interface it listens on (0.0.0.0: every interface)
  port: 8000                    # its TCP port
  rate_limit_per_minute: 600    # requests a key may make a minute before it gets 429
  auth_failures_allowed: 10     # bad keys from one address in 10 minutes before it is locked out (429, doubling)

sources:                        # one entry per department system; the name is yours, `connector` says which kind
  grid-registry:                # 网格管理中心: the grid tree and its shapes (sync it first: everything is placed in it)
    connector: grid-registry
    enabled: false              # true once `path` is filled in
    path: data/grids.geojson    # the registry's GeoJSON export (3 levels of grids)
    schedule: "@hourly"         # how often its Airflow DAG syncs it; null: only when triggered

  population:                   # 人口基础信息系统: households and persons in the registry's SQL database
    connector: population
    enabled: false              # true once `url` is filled in
    url: "mysql+pymysql://reader:PASSWORD@registry-db/renkou"  # SQLAlchemy URL of the registry database (read-only account)
    batch_size: 20000           # rows per Arrow batch
    settle_seconds: 300         # rows this recent (by the database's clock) are loaded and re-read next run

  civil-affairs:                # 民政综合业务系统: the monthly Excel rosters (低保对象, 特困供养, 残疾人, 高龄老人)
    connector: civil-affairs
    enabled: false              # true once `path` is filled in
    path: data/civil-affairs    # the folder the monthly workbooks are dropped into

  fire-safety:                  # 消防监督管理系统: daily CSV delta folders (units, inspections, hazards)
    connector: fire-safety
    enabled: false              # true once `path` is filled in
    path: data/fire-safety      # the drop folder holding one folder per day

  public-security:              # 综治/公安: floating persons, special persons and incidents over an HTTP JSON API
    connector: public-security
    enabled: false              # true once `base_url` is filled in and the token variable is set
    base_url: "http://127.0.0.1:8765"  # the API's root URL
    token_env: PUBLIC_SECURITY_TOKEN   # the environment variable holding the API token (never the token itself)
    page_size: 500              # records a page (at most 500; a server serving fewer is followed at its size)
    timeout: 30                 # seconds before a request is given up
    max_retries: 5              # retries of a request that failed or was throttled

  dispute-mediation:            # 矛盾纠纷多元化解平台: the append-only JSON Lines event log
    connector: dispute-mediation
    enabled: false              # true once `path` is filled in
    path: data/dispute-mediation  # the folder holding the event log files
"""
