FROM busybox
ENV SET=value EMPTY=
LABEL a=${SET:-word} b=${EMPTY:-word} c=${UNSET:-word}
LABEL d=${SET-word} e=${EMPTY-word} f=${UNSET-word}
LABEL g=${SET:+word} h=${EMPTY:+word} i=${UNSET:+word}
LABEL j=${SET+word} k=${EMPTY+word} l=${UNSET+word}
LABEL m="${SET:?must be set}" n=${SET:?}
