# t_model_long.sh -- t_model.sh in its long mode (make check-long): three
# phases of MODEL_SECONDS (default 120) of random operations each: straight
# to Azurite, through the fault-injecting proxy, and with attr_timeout=1.
# MODEL_MOUNT_OPTS adds mount options to all three (e.g. upload=async).
exec bash "$(dirname "$0")/t_model.sh" --long "$@"
