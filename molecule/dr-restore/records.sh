# The drill's records, through the e-invoicing service's own API on the guest:
#   sh -s write   adds three invoices unless they are there; prints "written" when it added them
#   sh -s digest  the SHA-256 of what the service answers for its invoices
set -eu
name=constancia-einvoice
url="https://$name/api/invoices"
api() {
  curl -sS --fail --max-time 10 --cacert /etc/ssl/certs/ssl-cert-snakeoil.pem \
    --resolve "$name:443:127.0.0.1" "$@"
}
case "$1" in
  write)
    if api "$url" | grep -q drill-invoice-3; then exit 0; fi
    for n in 1 2 3; do
      api -H 'Content-Type: application/json' -d "{\"ref\": \"drill-invoice-$n\", \"total\": $n}" "$url" >/dev/null
    done
    echo written ;;
  digest) api "$url" | sha256sum | cut -d' ' -f1 ;;
esac
